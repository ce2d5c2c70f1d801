// Models here are built after torch.manual_seed, which seeds libtorch's one global generator: two test
// classes doing that at once could interleave their draws and build different weights (the bit-for-bit
// resume tests would then fail by chance). Test classes in this assembly therefore run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
