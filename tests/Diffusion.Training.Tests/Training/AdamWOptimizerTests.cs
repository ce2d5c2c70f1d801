using Diffusion.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

public sealed class AdamWOptimizerTests
{
    [Fact]
    public void MatchesLibTorchsAdamWStepForStep()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var ours = nn.Linear(5, 3);
        var theirs = nn.Linear(5, 3);
        theirs.load_state_dict(ours.state_dict());
        using var optimizer = new AdamWOptimizer(ours.named_parameters().Select(p => (p.name, p.parameter)), 0.95, 0.999, 1e-8, 1e-2, masterFloat32: false);
        var reference = optim.AdamW(theirs.parameters(), lr: 1e-2, beta1: 0.95, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2);

        TrainSideBySide(ours, optimizer, theirs, reference, steps: 6, batch: 4);

        // Same formula, same float32 operations; libtorch may fuse differently: 1e-6 absolute on O(1) weights.
        Assert.True(ours.weight!.allclose(theirs.weight!, rtol: 0, atol: 1e-6), "weights differ from libtorch's AdamW");
        Assert.True(ours.bias!.allclose(theirs.bias!, rtol: 0, atol: 1e-6), "biases differ from libtorch's AdamW");
        Assert.Equal(6, optimizer.StepCount);
    }

    [Fact]
    public void WeightDecayOnMatricesOnlyMatchesLibTorchsAdamWWithTwoParameterGroups()
    {
        // ClipTrainer's rule (open_clip): no decay below 2 dimensions. Ours decays the chosen views of the flat
        // buffer; libtorch's AdamW does the same with a second parameter group at weight decay 0.
        using var scope = NewDisposeScope();
        manual_seed(12);
        var ours = nn.Linear(5, 3);
        var theirs = nn.Linear(5, 3);
        theirs.load_state_dict(ours.state_dict());
        using var optimizer = new AdamWOptimizer(ours.named_parameters().Select(p => (p.name, p.parameter)), 0.9, 0.98, 1e-6, 0.2, masterFloat32: false,
            decays: (_, p) => p.dim() >= 2);
        var reference = optim.AdamW(
            [new AdamW.ParamGroup([theirs.weight!], 1e-2, 0.9, 0.98, 1e-6, 0.2, false, false), new AdamW.ParamGroup([theirs.bias!], 1e-2, 0.9, 0.98, 1e-6, 0.0, false, false)],
            lr: 1e-2, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: 0.2);

        TrainSideBySide(ours, optimizer, theirs, reference, steps: 6, batch: 4);

        // As above: the same float32 operations, 1e-6 absolute on O(1) weights. Decaying the bias too would move it
        // by lr·λ·|b| = 2e-3·|b| per step (|b| ≈ 0.1–0.4 here), far outside that.
        Assert.True(ours.weight!.allclose(theirs.weight!, rtol: 0, atol: 1e-6), "weights differ from libtorch's AdamW");
        Assert.True(ours.bias!.allclose(theirs.bias!, rtol: 0, atol: 1e-6), "biases differ from libtorch's AdamW (were they decayed?)");
    }

    [Fact]
    public void GradientsSetToNoneMidRunAreTakenBackIntoTheFlatBuffer()
    {
        // After the first step the gradients are views of one flat buffer. If something sets them to None (as
        // Module.zero_grad() does by default), backward makes new tensors; the next step must use those, not the
        // buffer's zeros.
        using var scope = NewDisposeScope();
        manual_seed(13);
        var ours = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3));
        var theirs = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3));
        theirs.load_state_dict(ours.state_dict());
        using var optimizer = new AdamWOptimizer(ours.named_parameters().Select(p => (p.name, p.parameter)), 0.9, 0.999, 1e-8, 1e-2, masterFloat32: false);
        var reference = optim.AdamW(theirs.parameters(), lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2);
        TrainSideBySide(ours, optimizer, theirs, reference, steps: 5, batch: 6, beforeBackward: step =>
        {
            if (step == 2)
            {
                foreach (Parameter p in ours.parameters())
                {
                    p.grad = null;
                }
            }
        });

        foreach (((string name, Parameter mine), (string _, Parameter expected)) in ours.named_parameters().Zip(theirs.named_parameters()))
        {
            Assert.True(mine.allclose(expected, rtol: 0, atol: 1e-6), $"'{name}' differs from libtorch's AdamW");
        }
    }

    [Fact]
    public void AParameterWithoutAGradientIsLeftAloneAsInPyTorch()
    {
        // torch.optim.AdamW skips parameters whose .grad is None (no weight decay, no moments); with such a
        // parameter at the first step the optimizer stays parameter by parameter instead of using flat buffers.
        using var scope = NewDisposeScope();
        manual_seed(12);
        var used = nn.Linear(4, 2);
        var unused = nn.Linear(4, 2);
        var reference = nn.Linear(4, 2);
        reference.load_state_dict(used.state_dict());
        Tensor unusedBefore = unused.weight!.detach().clone();
        (string, Parameter)[] parameters = [.. used.named_parameters().Select(p => ("used." + p.name, p.parameter)),
            .. unused.named_parameters().Select(p => ("unused." + p.name, p.parameter))];
        using var optimizer = new AdamWOptimizer(parameters, 0.9, 0.999, 1e-8, 1e-2, masterFloat32: false);
        var theirs = optim.AdamW(reference.parameters(), lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2);
        for (int step = 0; step < 3; step++)
        {
            using var stepScope = NewDisposeScope();
            Tensor x = randn(3, 4);
            optimizer.ZeroGrad();
            used.forward(x).square().mean().backward();
            optimizer.Step(1e-2);
            theirs.zero_grad();
            reference.forward(x).square().mean().backward();
            theirs.step();
        }

        Assert.True(unused.weight!.eq(unusedBefore).all().item<bool>(), "a parameter without a gradient changed");
        Assert.True(used.weight!.allclose(reference.weight!, rtol: 0, atol: 1e-6), "the used parameters differ from libtorch's AdamW");
    }

    [Fact]
    public void EmaDecayWarmsUpAsDiffusersEmaModel()
    {
        using var scope = NewDisposeScope();
        Tensor weight = zeros(1);
        using var ema = new ExponentialMovingAverage([("w", weight)], maxDecay: 0.5);
        // diffusers: decay = min(max, (1 + step) / (10 + step)) with step = updates so far.
        Assert.Equal(0.1, ema.NextDecay, 12);
        weight.fill_(1);
        ema.Update([("w", weight)]);                // shadow = 0.1·0 + 0.9·1
        var state = new Dictionary<string, Tensor>();
        ema.AddStateTo(state, "ema.");
        Assert.Equal(0.9f, state["ema.w"].item<float>(), 6);
        Assert.Equal(2.0 / 11.0, ema.NextDecay, 12);
        for (int i = 0; i < 20; i++)
        {
            ema.Update([("w", weight)]);
        }

        Assert.Equal(0.5, ema.NextDecay, 12);       // capped at maxDecay
    }

    /// <summary>
    /// Steps our AdamW and libtorch's side by side, each on its own 5-in, 3-out model, with the same random batches
    /// and MSE targets; <paramref name="beforeBackward"/> runs after our ZeroGrad, before our backward.
    /// </summary>
    private static void TrainSideBySide(nn.Module<Tensor, Tensor> ours, AdamWOptimizer optimizer, nn.Module<Tensor, Tensor> theirs,
        optim.Optimizer reference, int steps, int batch, Action<int>? beforeBackward = null)
    {
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            Tensor x = randn(batch, 5);
            Tensor y = randn(batch, 3);
            optimizer.ZeroGrad();
            beforeBackward?.Invoke(step);
            nn.functional.mse_loss(ours.forward(x), y).backward();
            optimizer.Step(1e-2);
            reference.zero_grad();
            nn.functional.mse_loss(theirs.forward(x), y).backward();
            reference.step();
        }
    }
}
