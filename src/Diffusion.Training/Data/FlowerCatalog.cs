namespace Diffusion.Data;

/// <summary>
/// The species and named colours <see cref="ProceduralFlowers"/> draws, and which colours each species
/// comes in. The order of every list here is part of the dataset's definition (labels index into it).
/// </summary>
internal static class FlowerCatalog
{
    public const int Tulip = 0;
    public const int Daisy = 1;
    public const int Aster = 2;
    public const int Sunflower = 3;
    public const int Rose = 4;
    public const int Poppy = 5;
    public const int Chrysanthemum = 6;
    public const int Lily = 7;

    public const int Red = 0;
    public const int Orange = 1;
    public const int Yellow = 2;
    public const int Pink = 3;
    public const int White = 4;
    public const int Purple = 5;
    public const int Blue = 6;

    public static readonly string[] SpeciesNames =
        ["tulip", "daisy", "aster", "sunflower", "rose", "poppy", "chrysanthemum", "lily"];

    public static readonly string[] ColourNames = ["red", "orange", "yellow", "pink", "white", "purple", "blue"];

    /// <summary>Colours each species comes in, indexed like <see cref="SpeciesNames"/>.</summary>
    public static readonly int[][] ColoursBySpecies =
    [
        [Red, Orange, Yellow, Pink, White, Purple], // tulip
        [White, Pink, Yellow, Purple],              // daisy
        [Purple, Blue, Pink, White],                // aster
        [Yellow, Orange],                           // sunflower
        [Red, Pink, White, Yellow, Orange],         // rose
        [Red, Orange, Pink, White, Yellow],         // poppy
        [Red, Orange, Yellow, Pink, Purple, White], // chrysanthemum
        [White, Pink, Orange, Yellow, Red],         // lily
    ];

    /// <summary>Every (species, colour) pair in species order, then in the species' colour order.</summary>
    public static readonly (int Species, int Colour)[] Combinations = BuildCombinations();

    /// <summary>
    /// Base hue (degrees), saturation and value of each named colour, and how far each may wander
    /// per flower: (h, s, v, ±h, ±s, ±v).
    /// </summary>
    public static readonly (double H, double S, double V, double DH, double DS, double DV)[] Palette =
    [
        (356, 0.85, 0.80, 7, 0.10, 0.10),   // red
        (24, 0.85, 0.96, 6, 0.10, 0.04),    // orange
        (49, 0.85, 0.97, 5, 0.12, 0.03),    // yellow
        (335, 0.50, 0.95, 10, 0.22, 0.05),  // pink: from pale to hot pink
        (40, 0.03, 0.97, 40, 0.03, 0.03),   // white: a trace of warm or cool tint
        (274, 0.62, 0.72, 10, 0.15, 0.12),  // purple
        (224, 0.75, 0.85, 8, 0.12, 0.10),   // blue
    ];

    /// <summary>Index of (species, colour) in <see cref="Combinations"/>.</summary>
    public static int CombinationIndex(int species, int colour) =>
        Array.IndexOf(Combinations, (species, colour));

    /// <summary>"a red tulip", "an orange poppy".</summary>
    public static string Caption(int species, int colour)
    {
        string colourName = ColourNames[colour];
        string article = "aeiou".Contains(colourName[0], StringComparison.Ordinal) ? "an" : "a";
        return $"{article} {colourName} {SpeciesNames[species]}";
    }

    private static (int, int)[] BuildCombinations()
    {
        var list = new List<(int, int)>();
        for (int s = 0; s < ColoursBySpecies.Length; s++)
        {
            foreach (int c in ColoursBySpecies[s])
            {
                list.Add((s, c));
            }
        }

        return [.. list];
    }
}
