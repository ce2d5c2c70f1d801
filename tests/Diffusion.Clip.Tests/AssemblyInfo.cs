// Models here are built after torch.manual_seed, which seeds libtorch's one global generator: two test
// classes doing that at once could interleave their draws and build different weights, and a test whose
// threshold depends on the initial weights would then fail by chance. Test classes run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
