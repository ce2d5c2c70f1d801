using Diffusion.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Runtime;

public sealed class ModuleRoundTripTests
{
    [Fact]
    public void LibTorchLoadsThroughTheLibrary()
    {
        TorchRuntime.EnsureAvailable();
        using var scope = NewDisposeScope();
        Tensor t = arange(6, dtype: float32).reshape(2, 3);
        Assert.Equal(15f, t.sum().item<float>());
    }

    [Fact]
    public void StateDictRoundTripKeepsNamesAndValues()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var source = nn.Sequential(("proj", nn.Linear(4, 3)), ("act", nn.SiLU()), ("out", nn.Linear(3, 2)));
        var target = nn.Sequential(("proj", nn.Linear(4, 3)), ("act", nn.SiLU()), ("out", nn.Linear(3, 2)));

        var names = source.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        Assert.Equal(["out.bias", "out.weight", "proj.bias", "proj.weight"], names);

        target.load_state_dict(source.state_dict());
        Tensor x = randn(5, 4);
        Tensor expected = source.forward(x);
        Tensor actual = target.forward(x);
        Assert.True(expected.allclose(actual, rtol: 0, atol: 0), "outputs differ after loading the state dict");
    }
}
