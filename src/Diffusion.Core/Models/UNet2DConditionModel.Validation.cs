using static TorchSharp.torch;

namespace Diffusion.Models;

/// <summary>Input checks of <see cref="UNet2DConditionModel"/>, made before any tensor reaches libtorch.</summary>
public sealed partial class UNet2DConditionModel
{
    private void ValidateInputs(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor? encoderAttentionMask)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timestep);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        int c = Config.InChannels;
        if (sample.dim() != 4 || sample.shape[1] != c || sample.shape[0] < 1 || sample.shape[2] < 1 || sample.shape[3] < 1)
        {
            throw new ArgumentException($"sample must be [N,{c},H,W] (in_channels {c}) with N, H, W >= 1; got {Shape(sample)}.", nameof(sample));
        }

        ScalarType weights = DType;
        Device device = Device;
        CheckDTypeAndDevice(sample, nameof(sample), weights, device);

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

        CheckDTypeAndDevice(encoderHiddenStates, nameof(encoderHiddenStates), weights, device);
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

    private static void CheckDTypeAndDevice(Tensor t, string name, ScalarType weights, Device device)
    {
        if (t.dtype != weights)
        {
            throw new ArgumentException($"{name} must have the weights' dtype {weights} (cast the model with to(dtype) to change it); got {t.dtype}.", name);
        }

        if (t.device_type != device.type || t.device_index != device.index)
        {
            throw new ArgumentException($"{name} must be on the weights' device {device}; got {t.device}.", name);
        }
    }

    private static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
