using System.Text.Json;
using Diffusion.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Losses;

/// <summary>Against open_clip's own ClipLoss / SigLipLoss (tools/reference/clip_losses.py → tests/reference/clip/losses.json).</summary>
public sealed class ContrastiveLossTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // float32 on both sides with the same formula. Logits s·I·Tᵀ carry rounding of about s·6e-8, and
    // the gradients multiply it by s again (measured up to 2e-5 at s = 100): absolute tolerance
    // 1e-6·s, relative 1e-5.
    private const double Rtol = 1e-5;
    private const double AtolPerUnitScale = 1e-6;

    public static TheoryData<int> CaseIndices => [0, 1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void MatchesOpenClipLossAndGradients(int index)
    {
        JsonElement c = ReferenceJson.Read("clip", "losses.json").GetProperty("cases")[index];
        int n = c.GetProperty("n").GetInt32(), dim = c.GetProperty("dim").GetInt32();
        using var scope = NewDisposeScope();
        Tensor image = Floats(c, "image_features", n, dim).requires_grad_();
        Tensor text = Floats(c, "text_features", n, dim).requires_grad_();
        Tensor scale = tensor(c.GetProperty("logit_scale").GetSingle());
        double atol = AtolPerUnitScale * Math.Max(1, c.GetProperty("logit_scale").GetDouble());
        bool siglip = c.GetProperty("kind").GetString() == "siglip";
        var sigLip = siglip ? new SigLipLoss(c.GetProperty("logit_bias").GetDouble()) : null;
        Tensor loss = siglip ? sigLip!.call(image, text, scale) : new ClipLoss().call(image, text, scale);

        Near(c.GetProperty("loss").GetDouble(), loss.item<float>(), atol, "loss");
        loss.backward();
        AssertClose(Floats(c, "grad_image", n, dim), image.grad!, atol, "grad image");
        AssertClose(Floats(c, "grad_text", n, dim), text.grad!, atol, "grad text");
        if (siglip)
        {
            Near(c.GetProperty("grad_logit_bias").GetDouble(), sigLip!.parameters().Single().grad!.item<float>(), atol, "grad bias");
            sigLip.Dispose();
        }
    }

    [Fact]
    public void SigLipBiasStartsAtMinusTen()
    {
        using var loss = new SigLipLoss();
        Assert.Equal(-10f, loss.LogitBias);
        Assert.Equal(["logit_bias"], loss.state_dict().Keys);
    }

    [Fact]
    public void ShapesAreValidated()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => ClipLoss.Compute(zeros(4, 8), zeros(3, 8), tensor(1f)));
        Assert.Equal("textFeatures must match imageFeatures [4,8]; got [3,8]. (Parameter 'textFeatures')", e.Message);
        Assert.Throws<ArgumentException>(() => SigLipLoss.Compute(zeros(4, 8), zeros(4, 8), tensor(1f), zeros(2)));
        Assert.Throws<ArgumentException>(() => ClipLoss.Compute(zeros(8), zeros(8), tensor(1f)));
    }

    private static Tensor Floats(JsonElement c, string name, int n, int dim) =>
        tensor(c.GetProperty(name).EnumerateArray().Select(e => e.GetSingle()).ToArray(), [n, dim]);

    private void Near(double expected, double actual, double atol, string what)
    {
        output.WriteLine($"{what}: |error| = {Math.Abs(expected - actual):E2}");
        Assert.True(Math.Abs(expected - actual) <= atol + (Rtol * Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");
    }

    private void AssertClose(Tensor expected, Tensor actual, double atol, string what)
    {
        (double maxAbs, double excess) = ReferenceJson.Compare(actual, expected, atol, Rtol);
        output.WriteLine($"{what}: max |error| = {maxAbs:E2}");
        Assert.True(excess <= 0, $"{what}: max |error| {maxAbs:E3}");
    }
}
