using System.Globalization;

namespace Diffusion.Models;

/// <summary>
/// Where a <see cref="ConditionalUNet"/> puts its cross-attention blocks (attention from the image to the
/// text embeddings): which down levels, the middle, which up levels.
/// </summary>
/// <remarks>
/// Levels are numbered as in <see cref="UNet"/>: with L = <c>HiddenDims.Count</c>, down level i (0 … L − 2)
/// works at width <c>HiddenDims[i]</c> and resolution S / 2^i; up level j (0 … L − 2, innermost first) works
/// at width <c>HiddenDims[L − 1 − j]</c> and resolution S / 2^(L − 2 − j). A block sits at the end of its
/// level, after the level's residual blocks (and its self-attention where the book has one), before the
/// down- or up-sampling. Cross-attention is cheap next to the book's self-attention (the keys are the
/// text's L tokens, not the image's pixels), so the default puts it everywhere.
/// </remarks>
public sealed record CrossAttentionLevels
{
    /// <summary>Cross-attention at every level and in the middle (the default).</summary>
    public static CrossAttentionLevels All { get; } = new();

    /// <summary>Cross-attention in the middle of the network only.</summary>
    public static CrossAttentionLevels MiddleOnly { get; } = new() { DownLevels = [], UpLevels = [] };

    /// <summary>No cross-attention: the network ignores text embeddings (a class-conditional model).</summary>
    public static CrossAttentionLevels None { get; } = new() { DownLevels = [], Middle = false, UpLevels = [] };

    /// <summary>Indices of the down levels with cross-attention; null means every down level.</summary>
    /// <value>The default value is null (all).</value>
    public IReadOnlyList<int>? DownLevels { get; init; }

    /// <summary>Whether the middle block has cross-attention (between its self-attention and its second residual block).</summary>
    /// <value>The default value is true.</value>
    public bool Middle { get; init; } = true;

    /// <summary>Indices of the up levels with cross-attention (0 = innermost); null means every up level.</summary>
    /// <value>The default value is null (all).</value>
    public IReadOnlyList<int>? UpLevels { get; init; }

    /// <summary>Whether down level <paramref name="level"/> has cross-attention.</summary>
    /// <param name="level">The down level's index.</param>
    /// <returns>True when it has.</returns>
    public bool HasDown(int level) => DownLevels is null || DownLevels.Contains(level);

    /// <summary>Whether up level <paramref name="level"/> has cross-attention.</summary>
    /// <param name="level">The up level's index (0 = innermost).</param>
    /// <returns>True when it has.</returns>
    public bool HasUp(int level) => UpLevels is null || UpLevels.Contains(level);

    /// <summary>Whether any block has cross-attention in a network with <paramref name="levelCount"/> levels.</summary>
    /// <param name="levelCount">L = <c>HiddenDims.Count</c>.</param>
    /// <returns>True when at least one site has cross-attention.</returns>
    public bool Any(int levelCount) =>
        Middle || Enumerable.Range(0, Math.Max(0, levelCount - 1)).Any(i => HasDown(i) || HasUp(i));

    /// <summary>Lists every rule broken for a network with <paramref name="levelCount"/> levels.</summary>
    /// <param name="levelCount">L = <c>HiddenDims.Count</c>; level indices must lie in [0, L − 2].</param>
    /// <returns>One message per violation.</returns>
    public IReadOnlyList<string> GetViolations(int levelCount)
    {
        var errors = new List<string>();
        Check(errors, nameof(DownLevels), DownLevels, levelCount);
        Check(errors, nameof(UpLevels), UpLevels, levelCount);
        return errors;
    }

    /// <summary>Compares all values, the level lists element by element.</summary>
    /// <param name="other">The placement to compare with.</param>
    /// <returns>True when equal.</returns>
    public bool Equals(CrossAttentionLevels? other) =>
        other is not null && Middle == other.Middle && SameList(DownLevels, other.DownLevels) && SameList(UpLevels, other.UpLevels);

    /// <summary>A hash consistent with <see cref="Equals(CrossAttentionLevels?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Middle);
        hash.Add(Describe(DownLevels));
        hash.Add(Describe(UpLevels));
        return hash.ToHashCode();
    }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"DownLevels = {Describe(DownLevels)}, Middle = {Middle}, UpLevels = {Describe(UpLevels)}");
        return true;
    }

    private static void Check(List<string> errors, string name, IReadOnlyList<int>? levels, int levelCount)
    {
        if (levels is null)
        {
            return;
        }

        int max = levelCount - 2;
        foreach (int level in levels)
        {
            if (level < 0 || level > max)
            {
                errors.Add($"CrossAttentionLevels.{name} entries must lie in [0, {max}] (HiddenDims.Count - 2); got {level}.");
            }
        }

        if (levels.Distinct().Count() != levels.Count)
        {
            errors.Add($"CrossAttentionLevels.{name} must not repeat a level; got {Describe(levels)}.");
        }
    }

    private static bool SameList(IReadOnlyList<int>? a, IReadOnlyList<int>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b));

    private static string Describe(IReadOnlyList<int>? levels) =>
        levels is null ? "all" : "[" + string.Join(", ", levels.Select(l => l.ToString(CultureInfo.InvariantCulture))) + "]";
}
