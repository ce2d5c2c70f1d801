using Diffusion.Data;

namespace Diffusion.Samples.TextToImage;

/// <summary>The captions ProceduralFlowers writes, one per species × colour class, in <see cref="ProceduralFlowers.ClassNames"/> order.</summary>
internal static class FlowerPrompts
{
    /// <summary>"a red tulip", "an orange tulip", … (37 captions; index = class index).</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. ProceduralFlowers.ClassNames.Select(c => ("aeiou".Contains(c[0], StringComparison.Ordinal) ? "an " : "a ") + c)];

    /// <summary>The rows of the grid: one prompt per species that has the colour (see <see cref="ProceduralFlowers.ColoursOf"/>).</summary>
    public static IReadOnlyList<string> Grid { get; } =
        ["a red tulip", "a yellow sunflower", "a blue aster", "a white daisy", "a pink rose", "an orange poppy"];

    public static string SpeciesOf(int classIndex) => ProceduralFlowers.ClassNames[classIndex].Split(' ')[1];

    public static string ColourOf(int classIndex) => ProceduralFlowers.ClassNames[classIndex].Split(' ')[0];
}
