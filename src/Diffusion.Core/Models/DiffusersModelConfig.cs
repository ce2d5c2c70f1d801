using Diffusion.Internal;

namespace Diffusion.Models;

/// <summary>
/// What every diffusers model configuration of this library shares: the fields of a diffusers <c>config.json</c> in
/// PascalCase, written as diffusers writes them (<see cref="ToJson"/>), checked by <see cref="GetViolations"/> and
/// <see cref="Validate"/>, compared by value (lists element by element) and printed with their keys.
/// </summary>
/// <remarks>Only this library's configurations derive from it: <see cref="AutoencoderKLConfig"/>,
/// <see cref="UNet2DModelConfig"/> and <see cref="UNet2DConditionModelConfig"/>.</remarks>
public abstract record DiffusersModelConfig
{
    /// <summary>Only this library's configurations derive from this record.</summary>
    private protected DiffusersModelConfig()
    {
    }

    /// <summary>Writes this configuration as diffusers writes it: every field by its key, sorted, plus
    /// <c>_class_name</c> (the diffusers class) and <c>_diffusers_version</c>.</summary>
    /// <returns>The JSON text (indented, ending with a newline).</returns>
    public abstract string ToJson();

    /// <summary>Lists every rule this configuration breaks (including features this library does not build); empty when it is valid.</summary>
    /// <returns>One message per violation, naming the property, its JSON key, the rule and the value.</returns>
    public abstract IReadOnlyList<string> GetViolations();

    /// <summary>Throws when this configuration breaks any rule, listing all of them.</summary>
    /// <exception cref="ArgumentException">At least one rule is broken; the message lists every violation.</exception>
    public void Validate() => OptionsValidation.ThrowIfAny(GetType().Name, GetViolations(), "config");

    /// <summary>Compares all values, the lists element by element: two configurations are equal when they are of the
    /// same type and write the same JSON.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public virtual bool Equals(DiffusersModelConfig? other) => WritesSameJson(other);

    /// <summary>A hash of all values, consistent with <see cref="Equals(DiffusersModelConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => JsonHash();

    /// <summary>The type's name and every field with its diffusers key and value.</summary>
    /// <returns>For example <c>UNet2DModelConfig { act_fn = "silu", add_attention = true, … }</c>.</returns>
    public sealed override string ToString() => $"{GetType().Name} {{ {Internal.ModelConfigJson.Describe(ToJson())} }}";

    /// <summary>
    /// The configuration a model keeps as its <c>Config</c>: <paramref name="given"/> (or the defaults) read back from its
    /// own JSON, so it is equal to it and shares no list with it: later changes to the caller's lists cannot change the
    /// recorded shape of a network already built. Reading back covers every field, nested lists included.
    /// </summary>
    /// <param name="given">The configuration passed to the model's constructor; null means the defaults.</param>
    internal static TConfig PrivateCopy<TConfig>(TConfig? given)
        where TConfig : DiffusersModelConfig, Internal.IModelConfig<TConfig>, new() =>
        TConfig.FromJson((given ?? new TConfig()).ToJson(), null);

    /// <summary>The value equality of every configuration record (each declares its <c>Equals</c> with it, so that
    /// the compiler does not compare the lists by reference): same type, same JSON.</summary>
    private protected bool WritesSameJson(DiffusersModelConfig? other) =>
        other is not null && EqualityContract == other.EqualityContract && ToJson() == other.ToJson();

    /// <summary>The hash every configuration record's <c>GetHashCode</c> returns, consistent with <see cref="WritesSameJson"/>.</summary>
    private protected int JsonHash() => StringComparer.Ordinal.GetHashCode(ToJson());
}
