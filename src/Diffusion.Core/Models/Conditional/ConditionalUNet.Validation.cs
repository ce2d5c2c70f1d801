using Diffusion.Models.Internal;

namespace Diffusion.Models;

/// <summary>Input checks of <see cref="ConditionalUNet.forward"/>, made before libtorch sees anything.</summary>
public sealed partial class ConditionalUNet
{
    private void ValidateInputs(Tensor sample, Tensor timesteps, Tensor? context, Tensor? classLabels)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timesteps);
        UNetOptions u = Options.UNet;
        ModelInputs.CheckSampleShape(sample, u.InChannels, u.SizeMultiple, $"the U-Net halves them {u.HiddenDims.Count - 2} times");
        ModelInputs.CheckPlacement(sample, DType, Device, "cast the model with to(ScalarType.BFloat16) for bfloat16");
        long n = sample.shape[0];
        ModelInputs.CheckTimesteps(timesteps, n);
        if (context is not null)
        {
            ValidateContext(context, n);
        }

        if (classLabels is not null)
        {
            ValidateClassLabels(classLabels, n);
        }
    }

    private void ValidateContext(Tensor context, long n)
    {
        if (!Options.HasCrossAttention)
        {
            throw new ArgumentException(
                "context must be null: this network has no cross-attention (ContextDim is null or CrossAttentionLevels is None).", nameof(context));
        }

        int dim = Options.ContextDim!.Value;
        if (context.dim() != 3 || (context.shape[0] != n && context.shape[0] != 1) || context.shape[1] < 1 || context.shape[2] != dim)
        {
            throw new ArgumentException(
                $"context must be [{n},L,{dim}] (or [1,L,{dim}] for the whole batch) with L >= 1; got {Shape(context)}.", nameof(context));
        }

        if (!is_floating_point(context.dtype))
        {
            throw new ArgumentException($"context must be a floating tensor (text embeddings); got {context.dtype}.", nameof(context));
        }
    }

    private void ValidateClassLabels(Tensor classLabels, long n)
    {
        if (Options.NumClasses is not { } classes)
        {
            throw new ArgumentException("classLabels must be null: this network has no class embedding (NumClasses is null).", nameof(classLabels));
        }

        if (classLabels.dtype == ScalarType.Bool || !is_integral(classLabels.dtype))
        {
            throw new ArgumentException($"classLabels must be an integer tensor; got {classLabels.dtype}.", nameof(classLabels));
        }

        if (classLabels.numel() != 1 && !(classLabels.dim() == 1 && classLabels.shape[0] == n))
        {
            throw new ArgumentException(
                $"classLabels must be a single value or a vector [{n}] (one per sample); got {Shape(classLabels)}.", nameof(classLabels));
        }

        long min, max;
        using (NewDisposeScope())
        {
            Tensor values = classLabels.to(int64);
            min = values.min().item<long>();
            max = values.max().item<long>();
        }

        if (min < 0 || max > classes)
        {
            throw new ArgumentException(
                $"classLabels must lie in [0, {classes}] ({classes} = no class); got values from {min} to {max}.", nameof(classLabels));
        }
    }

    private static string Shape(Tensor t) => ModelInputs.Shape(t);
}
