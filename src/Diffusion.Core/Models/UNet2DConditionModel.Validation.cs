using Diffusion.Models.Internal;

namespace Diffusion.Models;

/// <summary>Input checks of <see cref="UNet2DConditionModel"/>, made before any tensor reaches libtorch.</summary>
public sealed partial class UNet2DConditionModel
{
    private void ValidateInputs(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor? encoderAttentionMask)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timestep);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        ModelInputs.CheckSampleShape(sample, Config.InChannels, 1, "any size: the up path follows the skips' sizes");
        ModelInputs.CheckPlacement(sample, DType, Device, CastHint);

        long n = sample.shape[0];
        if (timestep.dtype == ScalarType.Bool || !(is_integral(timestep.dtype) || is_floating_point(timestep.dtype)))
        {
            throw new ArgumentException($"timestep must be an integer or floating tensor; got {timestep.dtype}.", nameof(timestep));
        }

        bool single = timestep.dim() == 0 || (timestep.dim() == 1 && timestep.shape[0] == 1);
        bool vector = timestep.dim() == 1 && timestep.shape[0] == n;
        if (!single && !vector)
        {
            throw new ArgumentException($"timestep must be a 0-d tensor, a one-element vector or a vector [{n}] (one per sample); got {Shape(timestep)}.", nameof(timestep));
        }

        int d = CrossAttentionDim;
        if (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[0] != n || encoderHiddenStates.shape[1] < 1 || encoderHiddenStates.shape[2] != d)
        {
            throw new ArgumentException(
                $"encoderHiddenStates must be [{n},S,{d}] (one sequence per sample, cross_attention_dim {d}, S >= 1); got {Shape(encoderHiddenStates)}.",
                nameof(encoderHiddenStates));
        }

        ModelInputs.CheckPlacement(encoderHiddenStates, DType, Device, CastHint, nameof(encoderHiddenStates));
        if (encoderAttentionMask is null)
        {
            return;
        }

        long s = encoderHiddenStates.shape[1];
        if (encoderAttentionMask.dim() != 2 || encoderAttentionMask.shape[0] != n || encoderAttentionMask.shape[1] != s)
        {
            throw new ArgumentException(
                $"encoderAttentionMask must be [{n},{s}] (one 1/0 per sample and text position of encoderHiddenStates); got {Shape(encoderAttentionMask)}.",
                nameof(encoderAttentionMask));
        }

        if (!(encoderAttentionMask.dtype == ScalarType.Bool || is_integral(encoderAttentionMask.dtype) || is_floating_point(encoderAttentionMask.dtype)))
        {
            throw new ArgumentException($"encoderAttentionMask must be a bool, integer or floating tensor of 1 and 0; got {encoderAttentionMask.dtype}.", nameof(encoderAttentionMask));
        }
    }

    private const string CastHint = "cast the model with to(dtype) to change it";

    private static string Shape(Tensor t) => ModelInputs.Shape(t);
}
