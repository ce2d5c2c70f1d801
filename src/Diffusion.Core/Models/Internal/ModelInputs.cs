using static TorchSharp.torch;

namespace Diffusion.Models.Internal;

/// <summary>Input checks the models share, made before a tensor reaches libtorch.</summary>
internal static class ModelInputs
{
    /// <summary>Throws unless <paramref name="x"/> has the weights' dtype and device.</summary>
    /// <exception cref="ArgumentException">The dtype or device differs; the message names <paramref name="name"/>, the expected and the actual value.</exception>
    public static void WeightsDTypeAndDevice(Tensor x, string name, ScalarType weights, Device device)
    {
        if (x.dtype != weights)
        {
            throw new ArgumentException($"{name} must have the weights' dtype {weights} (cast the model with to(dtype) to change it); got {x.dtype}.", name);
        }

        if (x.device_type != device.type || x.device_index != device.index)
        {
            throw new ArgumentException($"{name} must be on the weights' device {device}; got {x.device}.", name);
        }
    }
}
