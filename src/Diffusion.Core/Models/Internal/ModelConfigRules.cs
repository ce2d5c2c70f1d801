using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Diffusion.Models.Internal;

/// <summary>The rules the diffusers model configs share (<see cref="UNet2DModelConfig"/>, <see cref="AutoencoderKLConfig"/>),
/// in the one message format of <c>GetViolations</c>: property, JSON key, rule, value.</summary>
internal static class ModelConfigRules
{
    /// <summary>Far above any published model; keeps a damaged config from asking for terabytes.</summary>
    public const int MaxChannels = 1 << 16;

    /// <summary>Adds a violation unless <paramref name="min"/> ≤ <paramref name="value"/> ≤ <paramref name="max"/>.</summary>
    public static void Range(List<string> errors, string name, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{name} ({key}) must lie in [{min}, {max}]; got {value}");
        }
    }

    /// <summary><c>block_out_channels</c>: 1 to 16 levels, each in [1, <see cref="MaxChannels"/>] and a multiple of the
    /// GroupNorm groups.</summary>
    /// <returns>Whether the list has a usable number of entries (further rules may index it).</returns>
    public static bool BlockOutChannels(List<string> errors, IReadOnlyList<int>? channels, int normNumGroups)
    {
        if (channels is null || channels.Count == 0 || channels.Count > 16)
        {
            errors.Add($"BlockOutChannels (block_out_channels) must have 1 to 16 entries; got {Describe(channels)}");
            return false;
        }

        for (int i = 0; i < channels.Count; i++)
        {
            int c = channels[i];
            if (c < 1 || c > MaxChannels)
            {
                errors.Add($"BlockOutChannels[{i}] (block_out_channels) must lie in [1, {MaxChannels}]; got {c}");
            }
            else if (normNumGroups >= 1 && c % normNumGroups != 0)
            {
                errors.Add($"BlockOutChannels[{i}] (block_out_channels) must be a multiple of NormNumGroups (norm_num_groups, {normNumGroups}); got {c}");
            }
        }

        return true;
    }

    /// <summary>Block types: one per <c>block_out_channels</c> entry.</summary>
    /// <returns>Whether the count fits (the entries may then be checked one by one).</returns>
    public static bool OnePerLevel(List<string> errors, string name, string key, [NotNullWhen(true)] IReadOnlyList<string>? types, int levels)
    {
        if (types is null || types.Count != levels)
        {
            errors.Add($"{name} ({key}) must have one entry per BlockOutChannels entry ({levels}); got {types?.Count.ToString(CultureInfo.InvariantCulture) ?? "null"}");
            return false;
        }

        return true;
    }

    /// <summary>A list as the messages show it, e.g. "[16, 32]", or "null".</summary>
    public static string Describe(IReadOnlyList<int>? values) =>
        values is null ? "null" : "[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";
}
