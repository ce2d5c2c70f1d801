using Microsoft.Extensions.Logging;
using Diffusion.Internal;

namespace Diffusion.Data;

/// <summary>Settings of a <see cref="DataLoader"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Items per batch.</summary>
    /// <value>The default value is 16.</value>
    public int BatchSize { get; init; } = 16;

    /// <summary>Whether each epoch visits the items in a seeded random order (else in dataset order).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the epoch orders and of the augmentation streams.</summary>
    /// <value>The default value is 0.</value>
    public long Seed { get; init; }

    /// <summary>Whether a last, smaller batch is left out (so every batch has <see cref="BatchSize"/> items).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DropLast { get; init; } = true;

    /// <summary>Threads that decode and augment batches ahead of the consumer; 0 builds each batch on the consumer's thread.</summary>
    /// <value>The default value is min(4, <see cref="Environment.ProcessorCount"/>).</value>
    public int Workers { get; init; } = Math.Min(4, Environment.ProcessorCount);

    /// <summary>
    /// Most batches built or waiting ahead of the consumer at any time (at least 1). Memory holds at most
    /// this many batches plus the one the consumer has; workers beyond this number idle.
    /// </summary>
    /// <value>The default value is 4.</value>
    public int Prefetch { get; init; } = 4;

    /// <summary>Random augmentations applied to every item, in order, on the worker threads.</summary>
    /// <value>The default value is one <see cref="RandomHorizontalFlip"/> with probability 0.5 (the book's).</value>
    public IReadOnlyList<IImageTransform> Transforms { get; init; } = [new RandomHorizontalFlip()];

    /// <summary>What to do with an item that cannot be read.</summary>
    /// <value>The default value is <see cref="DataErrorHandling.Throw"/>.</value>
    public DataErrorHandling OnError { get; init; } = DataErrorHandling.Throw;

    /// <summary>Where to log skipped items and epoch starts and ends.</summary>
    /// <value>The default value is <see langword="null"/> (no logging).</value>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Throws if any setting is out of range, listing every violation.</summary>
    /// <exception cref="ArgumentException">At least one setting is invalid.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        OptionsValidation.Check(errors, BatchSize >= 1, $"BatchSize must be at least 1; got {BatchSize}.");

        OptionsValidation.Check(errors, Workers is >= 0 and <= 256, $"Workers must be in [0, 256]; got {Workers}.");

        OptionsValidation.Check(errors, Prefetch is >= 1 and <= 1024, $"Prefetch must be in [1, 1024]; got {Prefetch}.");

        if (Transforms is null)
        {
            errors.Add("Transforms must not be null (use an empty list for none).");
        }
        else if (Transforms.Any(t => t is null))
        {
            errors.Add("Transforms must not contain null.");
        }

        OptionsValidation.Check(errors, Enum.IsDefined(OnError), $"OnError must be Throw or SkipAndLog; got {(int)OnError}.");

        OptionsValidation.ThrowIfAny(nameof(DataLoaderOptions), errors);
    }
}
