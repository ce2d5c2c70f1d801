// Models are built after torch.manual_seed, which seeds libtorch's one global generator, and every module
// construction (ClipModel.Load included) draws from it: a class loading models while another seeds and builds
// one changed the "seeded" weights (the kill test's uninterrupted run then differed from the resumed one
// once in a full run). Tiny's lock covered only its own builders; test classes now run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
