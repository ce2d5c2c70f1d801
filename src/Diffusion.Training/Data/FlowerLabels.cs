namespace Diffusion.Data;

/// <summary>What <see cref="ImageItem.Label"/> means for <see cref="ProceduralFlowers"/>.</summary>
public enum FlowerLabels
{
    /// <summary>The species index into <see cref="ProceduralFlowers.SpeciesNames"/> (8 classes).</summary>
    Species,

    /// <summary>The index of the (species, colour) pair in <see cref="ProceduralFlowers.ClassNames"/> (37 classes, e.g. "red tulip").</summary>
    SpeciesAndColour,
}
