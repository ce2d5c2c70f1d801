namespace Diffusion.Data;

/// <summary>What one <see cref="ProceduralFlowers"/> item shows, without drawing it.</summary>
/// <param name="Species">Species name, e.g. "tulip".</param>
/// <param name="Colour">Colour name, e.g. "red".</param>
/// <param name="SpeciesIndex">Index into <see cref="ProceduralFlowers.SpeciesNames"/>.</param>
/// <param name="ColourIndex">Index into <see cref="ProceduralFlowers.ColourNames"/>.</param>
/// <param name="ClassIndex">Index of (species, colour) into <see cref="ProceduralFlowers.ClassNames"/>.</param>
/// <param name="Caption">The item's caption, e.g. "a red tulip".</param>
/// <param name="Label">The item's <see cref="ImageItem.Label"/> under the dataset's <see cref="FlowerLabels"/> choice.</param>
public sealed record FlowerDescription(string Species, string Colour, int SpeciesIndex, int ColourIndex, int ClassIndex, string Caption, int Label);
