using Diffusion.Models.Internal;

namespace Diffusion.Models;

/// <summary>Input checks of <see cref="UNet2DModel"/>, made before any tensor reaches libtorch.</summary>
public sealed partial class UNet2DModel
{
    private void ValidateInputs(Tensor sample, Tensor timestep, Tensor? classLabels)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timestep);
        ModelInputs.CheckSampleShape(sample, Config.InChannels, SizeMultiple, $"the U-Net halves them {Config.BlockOutChannels.Count - 1} times");
        ModelInputs.CheckPlacement(sample, DType, Device, "cast the model with to(dtype) to change it");
        if (timestep.dtype == ScalarType.Bool || !(is_integral(timestep.dtype) || is_floating_point(timestep.dtype)))
        {
            throw new ArgumentException($"timestep must be an integer or floating tensor; got {timestep.dtype}.", nameof(timestep));
        }

        if (Config.TimeEmbeddingType == TimeEmbeddingType.Learned && !is_integral(timestep.dtype))
        {
            throw new ArgumentException($"timestep must be an integer tensor for the learned time embedding (a table row per timestep); got {timestep.dtype}.", nameof(timestep));
        }

        long n = sample.shape[0];
        bool single = timestep.dim() == 0 || (timestep.dim() == 1 && timestep.shape[0] == 1);
        bool vector = timestep.dim() == 1 && timestep.shape[0] == n;
        if (!single && !vector)
        {
            throw new ArgumentException($"timestep must be a 0-d tensor, a one-element vector or a vector [{n}] (one per sample); got {Shape(timestep)}.", nameof(timestep));
        }

        if (Config.TimeEmbeddingType == TimeEmbeddingType.Learned)
        {
            CheckIndexRange(timestep, Config.NumTrainTimesteps!.Value, nameof(timestep), "num_train_timesteps");
        }

        ValidateClassLabels(classLabels, n);
    }

    private void ValidateClassLabels(Tensor? classLabels, long n)
    {
        if (class_embedding is null)
        {
            if (classLabels is not null)
            {
                throw new ArgumentException("classLabels must be null: this model has no class embedding (class_embed_type and num_class_embeds are null).", nameof(classLabels));
            }

            return;
        }

        if (classLabels is null)
        {
            throw new ArgumentException("classLabels must be given: this model is class-conditional.", nameof(classLabels));
        }

        switch (Config.ClassEmbedType)
        {
            case ClassEmbedType.Identity:
                if (classLabels.dim() != 2 || classLabels.shape[0] != n || classLabels.shape[1] != Config.TimeEmbedDim || !is_floating_point(classLabels.dtype))
                {
                    throw new ArgumentException($"classLabels must be floating embeddings [{n},{Config.TimeEmbedDim}] for class_embed_type \"identity\"; got {classLabels.dtype} {Shape(classLabels)}.", nameof(classLabels));
                }

                break;
            case ClassEmbedType.Timestep:
                if (classLabels.dim() != 1 || classLabels.shape[0] != n || classLabels.dtype == ScalarType.Bool)
                {
                    throw new ArgumentException($"classLabels must be a vector [{n}] of numbers for class_embed_type \"timestep\"; got {classLabels.dtype} {Shape(classLabels)}.", nameof(classLabels));
                }

                break;
            default:
                if (classLabels.dim() != 1 || classLabels.shape[0] != n || !is_integral(classLabels.dtype) || classLabels.dtype == ScalarType.Bool)
                {
                    throw new ArgumentException($"classLabels must be an integer vector [{n}]; got {classLabels.dtype} {Shape(classLabels)}.", nameof(classLabels));
                }

                CheckIndexRange(classLabels, Config.NumClassEmbeds!.Value, nameof(classLabels), "num_class_embeds");

                break;
        }
    }

    private static void CheckIndexRange(Tensor indices, int count, string name, string key)
    {
        using var scope = NewDisposeScope();
        long min = indices.min().item<long>(), max = indices.max().item<long>();
        if (min < 0 || max >= count)
        {
            throw new ArgumentException($"{name} must lie in [0, {count}) ({key}); got values from {min} to {max}.", name);
        }
    }

    private static string Shape(Tensor t) => ModelInputs.Shape(t);
}
