using System.Globalization;
using Diffusion.Internal;

namespace Diffusion.Models;

/// <summary>
/// The shape of a <see cref="ConditionalUNet"/>: the book's U-Net (<see cref="UNet"/>, described by
/// <see cref="UNetOptions"/>) plus cross-attention to text embeddings and an optional class embedding.
/// </summary>
/// <remarks>
/// <para>Text conditioning: <see cref="ContextDim"/> is the width D of the embeddings <c>[B, L, D]</c> the
/// network attends to (CLIP's text hidden size: 512 for ViT-B/32, 64 for <c>ClipConfig.Small</c>); null builds
/// no cross-attention. <see cref="CrossAttentionLevels"/> says where the blocks sit.</para>
/// <para>Class conditioning: with <see cref="NumClasses"/> = K the network learns K + 1 embeddings added to
/// the time embedding; index K (<see cref="NullClassLabel"/>) is the "no class" label of the unconditional branch.</para>
/// </remarks>
public sealed record ConditionalUNetOptions : Internal.IModelConfig<ConditionalUNetOptions>
{
    /// <summary>The U-Net under the conditioning: channels, widths, image size, GroupNorm groups, self-attention shape.</summary>
    /// <value>The default value is the book's configuration (<c>new UNetOptions()</c>).</value>
    public UNetOptions UNet { get; init; } = new();

    /// <summary>Width D of the text embeddings <c>[B, L, D]</c>; null means no text conditioning (no cross-attention blocks).</summary>
    /// <value>The default value is 512 (CLIP ViT-B/32's text hidden size).</value>
    public int? ContextDim { get; init; } = 512;

    /// <summary>Number of classes K for class conditioning; null means no class embedding.</summary>
    /// <value>The default value is null.</value>
    public int? NumClasses { get; init; }

    /// <summary>Where the cross-attention blocks sit (ignored when <see cref="ContextDim"/> is null).</summary>
    /// <value>The default value is <see cref="Models.CrossAttentionLevels.All"/>.</value>
    public CrossAttentionLevels CrossAttentionLevels { get; init; } = CrossAttentionLevels.All;

    /// <summary>Heads of each cross-attention block.</summary>
    /// <value>The default value is 4 (as the book's self-attention).</value>
    public int CrossAttentionHeads { get; init; } = 4;

    /// <summary>Width of each cross-attention head.</summary>
    /// <value>The default value is 32 (as the book's self-attention).</value>
    public int CrossAttentionHeadDim { get; init; } = 32;

    /// <summary>The class label that means "no class" (the unconditional branch): <see cref="NumClasses"/>, or null without class conditioning.</summary>
    public int? NullClassLabel => NumClasses;

    /// <summary>Whether the network has at least one cross-attention block.</summary>
    public bool HasCrossAttention =>
        ContextDim is not null && CrossAttentionLevels is not null && UNet?.HiddenDims is { } dims && CrossAttentionLevels.Any(dims.Count);

    /// <summary>Lists every rule these options break (the U-Net's own rules included); empty when they are valid.</summary>
    /// <returns>One message per violation, naming the property, the rule and the value.</returns>
    public IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        if (UNet is null)
        {
            errors.Add("UNet must not be null.");
        }
        else
        {
            errors.AddRange(UNet.GetViolations().Select(e => "UNet." + e));
        }

        if (ContextDim is < 1)
        {
            errors.Add($"ContextDim must be at least 1 or null (no text conditioning); got {ContextDim}.");
        }

        if (NumClasses is < 1)
        {
            errors.Add($"NumClasses must be at least 1 or null (no class conditioning); got {NumClasses}.");
        }

        if (CrossAttentionHeads < 1)
        {
            errors.Add($"CrossAttentionHeads must be at least 1; got {CrossAttentionHeads}.");
        }

        if (CrossAttentionHeadDim < 1)
        {
            errors.Add($"CrossAttentionHeadDim must be at least 1; got {CrossAttentionHeadDim}.");
        }

        if (CrossAttentionLevels is null)
        {
            errors.Add("CrossAttentionLevels must not be null (use CrossAttentionLevels.None for no cross-attention).");
        }
        else if (UNet?.HiddenDims is { Count: >= 2 } dims)
        {
            errors.AddRange(CrossAttentionLevels.GetViolations(dims.Count));
        }

        return errors;
    }

    /// <summary>Throws unless <paramref name="textEncoder"/> fits a network of these options: required (with
    /// <see cref="ContextDim"/> wide embeddings) when it has cross-attention, null when it has none. The one check the
    /// pipeline and the trainer make.</summary>
    internal void CheckTextEncoder(ITextEncoder? textEncoder, string paramName)
    {
        if (HasCrossAttention && textEncoder is null)
        {
            throw new ArgumentException($"{paramName} is required: the U-Net has cross-attention to text embeddings.", paramName);
        }

        if (!HasCrossAttention && textEncoder is not null)
        {
            throw new ArgumentException($"{paramName} must be null: the U-Net has no cross-attention (ContextDim is null or CrossAttentionLevels is None).", paramName);
        }

        if (textEncoder is not null && textEncoder.EmbeddingDim != ContextDim)
        {
            throw new ArgumentException($"{paramName}.EmbeddingDim must equal the U-Net's ContextDim ({ContextDim}); got {textEncoder.EmbeddingDim}.", paramName);
        }
    }

    /// <summary>These options as a <c>config.json</c> text: <c>"_class_name": "ConditionalUNet"</c>, the
    /// <see cref="UNetOptions"/> keys and <c>context_dim</c>, <c>num_classes</c>, <c>cross_attention_*</c>, as
    /// <see cref="ConditionalUNet.SavePretrained"/> writes it.</summary>
    /// <returns>Indented JSON ending in a newline.</returns>
    public string ToJson() => Internal.ModelConfigJson.WriteConditionalUNet(this);

    /// <summary>Reads options from a <c>config.json</c> text that <see cref="ToJson"/> (or <see cref="ConditionalUNet.SavePretrained"/>) wrote.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives keys that are not option names (null: ignore them).</param>
    /// <returns>The options, not yet validated (<see cref="GetViolations"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, a value has the wrong type (the message names the key),
    /// or <c>_class_name</c> names another class.</exception>
    public static ConditionalUNetOptions FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadConditionalUNet(json, unknownKeys);

    /// <summary>Throws when these options break any rule, listing all of them.</summary>
    /// <exception cref="ArgumentException">At least one rule is broken; the message lists every violation.</exception>
    public void Validate()
    {
        OptionsValidation.ThrowIfAny(nameof(ConditionalUNetOptions), GetViolations());
    }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"UNet = {UNet}, ContextDim = {ContextDim?.ToString(CultureInfo.InvariantCulture) ?? "null"}, ");
        builder.Append(CultureInfo.InvariantCulture,
            $"NumClasses = {NumClasses?.ToString(CultureInfo.InvariantCulture) ?? "null"}, CrossAttentionLevels = {CrossAttentionLevels}, ");
        builder.Append(CultureInfo.InvariantCulture, $"CrossAttentionHeads = {CrossAttentionHeads}, CrossAttentionHeadDim = {CrossAttentionHeadDim}");
        return true;
    }
}
