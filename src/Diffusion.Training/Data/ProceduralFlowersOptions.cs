using Diffusion.Internal;
namespace Diffusion.Data;

/// <summary>Settings of a <see cref="ProceduralFlowers"/> dataset.</summary>
public sealed record ProceduralFlowersOptions
{
    /// <summary>Number of items.</summary>
    /// <value>The default value is 1024.</value>
    public int Count { get; init; } = 1024;

    /// <summary>Side length of the square images, in pixels (8 to 1024).</summary>
    /// <value>The default value is 64.</value>
    public int ImageSize { get; init; } = 64;

    /// <summary>Seed of the whole dataset; item <c>i</c> is a function of (seed, i) only.</summary>
    /// <value>The default value is 0.</value>
    public long Seed { get; init; }

    /// <summary>
    /// How many times larger each side is drawn before it is averaged down to <see cref="ImageSize"/>
    /// (a box filter over factor × factor pixels: antialiasing). 1 to 8, and ImageSize × Supersampling
    /// at most 4096. Below 4, Skia's own edge antialiasing is switched on.
    /// </summary>
    /// <value>The default value is 4.</value>
    public int Supersampling { get; init; } = 4;

    /// <summary>What the items' labels mean.</summary>
    /// <value>The default value is <see cref="FlowerLabels.Species"/>.</value>
    public FlowerLabels Labels { get; init; } = FlowerLabels.Species;

    /// <summary>Throws if any setting is out of range, listing every violation.</summary>
    /// <exception cref="ArgumentException">At least one setting is invalid.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        OptionsValidation.Check(errors, Count >= 1, $"Count must be at least 1; got {Count}.");

        OptionsValidation.Check(errors, ImageSize is >= 8 and <= 1024, $"ImageSize must be in [8, 1024]; got {ImageSize}.");

        OptionsValidation.Check(errors, Supersampling is >= 1 and <= 8, $"Supersampling must be in [1, 8]; got {Supersampling}.");

        OptionsValidation.Check(errors, ImageSize * Supersampling <= 4096, $"ImageSize × Supersampling must be at most 4096 (the drawing canvas side); got {ImageSize} × {Supersampling} = {ImageSize * Supersampling}.");

        OptionsValidation.Check(errors, Enum.IsDefined(Labels), $"Labels must be Species or SpeciesAndColour; got {(int)Labels}.");

        OptionsValidation.ThrowIfAny(nameof(ProceduralFlowersOptions), errors);
    }
}
