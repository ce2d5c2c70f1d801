namespace Diffusion.Models.Internal;

/// <summary>The input checks every denoiser makes before libtorch sees anything, with one message format.</summary>
internal static class ModelInputs
{
    /// <summary>"[2,3,32,32]".</summary>
    public static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";

    /// <summary>Throws unless <paramref name="sample"/> is <c>[N, channels, H, W]</c> with N ≥ 1 and H, W positive
    /// multiples of <paramref name="sizeMultiple"/>.</summary>
    /// <param name="sample">The input.</param>
    /// <param name="channels">The channels it must have.</param>
    /// <param name="sizeMultiple">What H and W must be multiples of.</param>
    /// <param name="why">Why (in parentheses in the message), e.g. "the U-Net halves them 2 times".</param>
    public static void CheckSampleShape(Tensor sample, int channels, int sizeMultiple, string why)
    {
        if (sample.dim() != 4 || sample.shape[1] != channels || sample.shape[0] < 1)
        {
            throw new ArgumentException($"sample must be [N,{channels},H,W] with N >= 1; got {Shape(sample)}.", nameof(sample));
        }

        if (sample.shape[2] < 1 || sample.shape[3] < 1 || sample.shape[2] % sizeMultiple != 0 || sample.shape[3] % sizeMultiple != 0)
        {
            throw new ArgumentException(
                $"sample height and width must be positive multiples of {sizeMultiple} ({why}); got {Shape(sample)}.", nameof(sample));
        }
    }

    /// <summary>Throws unless <paramref name="sample"/> has the weights' dtype and device.</summary>
    /// <param name="sample">The input.</param>
    /// <param name="dtype">The weights' dtype.</param>
    /// <param name="device">The weights' device.</param>
    /// <param name="castHint">How to change the model's dtype, for the message.</param>
    /// <param name="name">The input's parameter name, for the message (the VAE's are <c>x</c> and <c>z</c>).</param>
    public static void CheckPlacement(Tensor sample, ScalarType dtype, Device device, string castHint, string name = "sample")
    {
        if (sample.dtype != dtype)
        {
            throw new ArgumentException($"{name} must have the weights' dtype {dtype} ({castHint}); got {sample.dtype}.", name);
        }

        if (sample.device_type != device.type || sample.device_index != device.index)
        {
            throw new ArgumentException($"{name} must be on the weights' device {device}; got {sample.device}.", name);
        }
    }

    /// <summary>Throws unless <paramref name="timesteps"/> is an integer or floating tensor of one value or <c>[n]</c>.</summary>
    public static void CheckTimesteps(Tensor timesteps, long n)
    {
        if (timesteps.dtype == ScalarType.Bool || !(is_integral(timesteps.dtype) || is_floating_point(timesteps.dtype)))
        {
            throw new ArgumentException($"timesteps must be an integer (or floating) tensor; got {timesteps.dtype}.", nameof(timesteps));
        }

        if (timesteps.numel() != 1 && !(timesteps.dim() == 1 && timesteps.shape[0] == n))
        {
            throw new ArgumentException(
                $"timesteps must be a single value or a vector [{n}] (one per sample); got {Shape(timesteps)}.", nameof(timesteps));
        }
    }

    /// <summary>Casts, then moves, a freshly built model, as each model constructor's <c>device</c> and <c>dtype</c> ask.</summary>
    public static void Place(nn.Module model, Device? device, ScalarType? dtype)
    {
        if (dtype is { } elementType && elementType != ScalarType.Float32)
        {
            model.to(elementType);
        }

        if (device is not null)
        {
            model.to(device);
        }
    }

    /// <summary>
    /// What a model constructor checks before its base constructor creates native state (so bad arguments leak
    /// nothing): the configuration's rules, the dtype, and that libtorch loads.
    /// </summary>
    /// <param name="validate">Throws <see cref="ArgumentException"/> listing every broken rule of the configuration.</param>
    /// <param name="dtype">The dtype asked for.</param>
    /// <param name="allowed">The dtypes the model can be built in (null is always allowed: float32).</param>
    /// <param name="name">The module name to return.</param>
    /// <returns><paramref name="name"/>, for the base constructor.</returns>
    public static string BeforeConstruction(Action validate, ScalarType? dtype, ScalarType[] allowed, string name)
    {
        validate();
        if (dtype is { } type && !allowed.Contains(type))
        {
            string names = allowed.Length == 1 ? $"{allowed[0]}" : $"{string.Join(", ", allowed[..^1])} or {allowed[^1]}";
            throw new ArgumentException($"dtype must be {names}; got {dtype}.", nameof(dtype));
        }

        Runtime.TorchRuntime.EnsureAvailable();
        return name;
    }
}
