using System.Globalization;
using Diffusion.Internal;

namespace Diffusion.Models;

/// <summary>
/// The shape of a <see cref="UNet"/>. The defaults are the book's configuration
/// (<c>UNet(3, hidden_dims=[128, 256, 512, 1024], image_size=64)</c>, 133,417,219 parameters).
/// </summary>
/// <remarks>
/// With L = <see cref="HiddenDims"/>.Count levels the network halves the resolution L − 2 times, so
/// image sides must be multiples of 2^(L − 2) (<see cref="SizeMultiple"/>). Every hidden width feeds a
/// GroupNorm, so each must be a multiple of <see cref="NormGroups"/>.
/// </remarks>
public sealed record UNetOptions : Internal.IModelConfig<UNetOptions>
{
    /// <summary>Channels of the input image.</summary>
    /// <value>The default value is 3.</value>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels of the predicted noise (the book always uses 3).</summary>
    /// <value>The default value is 3.</value>
    public int OutChannels { get; init; } = 3;

    /// <summary>Feature widths of the levels, outermost first; the last is the bottleneck's width.</summary>
    /// <value>The default value is [128, 256, 512, 1024].</value>
    public IReadOnlyList<int> HiddenDims { get; init; } = [128, 256, 512, 1024];

    /// <summary>The image side the model is meant for (the book's <c>sample_size</c>); the forward pass accepts any side that is a multiple of <see cref="SizeMultiple"/>.</summary>
    /// <value>The default value is 64.</value>
    public int ImageSize { get; init; } = 64;

    /// <summary>Groups of every GroupNorm in the residual blocks.</summary>
    /// <value>The default value is 8.</value>
    public int NormGroups { get; init; } = 8;

    /// <summary>Heads of each attention block.</summary>
    /// <value>The default value is 4.</value>
    public int AttentionHeads { get; init; } = 4;

    /// <summary>Width of each attention head.</summary>
    /// <value>The default value is 32.</value>
    public int AttentionHeadDim { get; init; } = 32;

    /// <summary>The number image sides must be a multiple of: 2^(<see cref="HiddenDims"/>.Count − 2), or 1 for fewer than 2 levels.</summary>
    public int SizeMultiple => HiddenDims is { Count: >= 2 and < 33 } ? 1 << (HiddenDims.Count - 2) : 1;

    /// <summary>Width of the time embedding fed to every residual block: 4 · HiddenDims[0].</summary>
    public int TimeEmbeddingDim => HiddenDims is { Count: > 0 } ? 4 * HiddenDims[0] : 0;

    /// <summary>Lists every rule these options break; empty when they are valid.</summary>
    /// <returns>One message per violation, naming the property, the rule and the value.</returns>
    public IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        CheckPositive(errors, nameof(InChannels), InChannels);
        CheckPositive(errors, nameof(OutChannels), OutChannels);
        CheckPositive(errors, nameof(NormGroups), NormGroups);
        CheckPositive(errors, nameof(AttentionHeads), AttentionHeads);
        CheckPositive(errors, nameof(AttentionHeadDim), AttentionHeadDim);
        if (HiddenDims is null || HiddenDims.Count < 2)
        {
            errors.Add($"HiddenDims must have at least 2 entries; got {Describe(HiddenDims)}.");
        }
        else
        {
            if (HiddenDims.Count > 16)
            {
                errors.Add($"HiddenDims must have at most 16 entries; got {HiddenDims.Count}.");
            }

            for (int i = 0; i < HiddenDims.Count; i++)
            {
                int d = HiddenDims[i];
                if (d < 1)
                {
                    errors.Add($"HiddenDims[{i}] must be at least 1; got {d}.");
                }
                else if (NormGroups >= 1 && d % NormGroups != 0)
                {
                    errors.Add($"HiddenDims[{i}] must be a multiple of NormGroups ({NormGroups}); got {d}.");
                }
            }

            if (HiddenDims[0] >= 1 && (HiddenDims[0] < 4 || HiddenDims[0] % 2 != 0))
            {
                errors.Add($"HiddenDims[0] (the timestep embedding width) must be even and at least 4; got {HiddenDims[0]}.");
            }
        }

        if (ImageSize < 1)
        {
            errors.Add($"ImageSize must be at least 1; got {ImageSize}.");
        }
        else if (ImageSize % SizeMultiple != 0)
        {
            errors.Add($"ImageSize must be a multiple of {SizeMultiple} (2^(HiddenDims.Count - 2)); got {ImageSize}.");
        }

        return errors;
    }

    /// <summary>These options as a <c>config.json</c> text: <c>"_class_name": "UNet"</c> and each property in snake_case
    /// (<c>hidden_dims</c>, <c>image_size</c>, ...), as <see cref="UNet.SavePretrained"/> writes it.</summary>
    /// <returns>Indented JSON ending in a newline.</returns>
    public string ToJson() => Internal.ModelConfigJson.WriteUNet(this);

    /// <summary>Reads options from a <c>config.json</c> text that <see cref="ToJson"/> (or <see cref="UNet.SavePretrained"/>) wrote.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives keys that are not option names (null: ignore them).</param>
    /// <returns>The options, not yet validated (<see cref="GetViolations"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, a value has the wrong type (the message names the key),
    /// or <c>_class_name</c> names another class.</exception>
    public static UNetOptions FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadUNet(json, unknownKeys);

    /// <summary>Throws when these options break any rule, listing all of them.</summary>
    /// <exception cref="ArgumentException">At least one rule is broken; the message lists every violation.</exception>
    public void Validate()
    {
        OptionsValidation.ThrowIfAny(nameof(UNetOptions), GetViolations());
    }

    /// <summary>Compares all values, including <see cref="HiddenDims"/> element by element.</summary>
    /// <param name="other">The options to compare with.</param>
    /// <returns>True when every property is equal.</returns>
    public bool Equals(UNetOptions? other) =>
        other is not null &&
        InChannels == other.InChannels &&
        OutChannels == other.OutChannels &&
        ImageSize == other.ImageSize &&
        NormGroups == other.NormGroups &&
        AttentionHeads == other.AttentionHeads &&
        AttentionHeadDim == other.AttentionHeadDim &&
        (ReferenceEquals(HiddenDims, other.HiddenDims) ||
         (HiddenDims is not null && other.HiddenDims is not null && HiddenDims.SequenceEqual(other.HiddenDims)));

    /// <summary>A hash of all values, consistent with <see cref="Equals(UNetOptions?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(InChannels);
        hash.Add(OutChannels);
        hash.Add(ImageSize);
        hash.Add(NormGroups);
        hash.Add(AttentionHeads);
        hash.Add(AttentionHeadDim);
        foreach (int d in HiddenDims ?? [])
        {
            hash.Add(d);
        }

        return hash.ToHashCode();
    }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"InChannels = {InChannels}, OutChannels = {OutChannels}, HiddenDims = {Describe(HiddenDims)}, ImageSize = {ImageSize}, ");
        builder.Append(CultureInfo.InvariantCulture,
            $"NormGroups = {NormGroups}, AttentionHeads = {AttentionHeads}, AttentionHeadDim = {AttentionHeadDim}");
        return true;
    }

    private static void CheckPositive(List<string> errors, string name, int value)
    {
        if (value < 1)
        {
            errors.Add($"{name} must be at least 1; got {value}.");
        }
    }

    private static string Describe(IReadOnlyList<int>? dims) =>
        dims is null ? "null" : "[" + string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
