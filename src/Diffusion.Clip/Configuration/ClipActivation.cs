using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.Clip;

/// <summary>The transformer MLP's activation: Hugging Face's <c>hidden_act</c>.</summary>
[JsonConverter(typeof(ClipActivationJsonConverter))]
public enum ClipActivation
{
    /// <summary><c>quick_gelu</c>: x·σ(1.702x), what OpenAI's CLIP models use.</summary>
    QuickGelu,

    /// <summary><c>gelu</c>: the exact (erf) GELU, used by many OpenCLIP checkpoints.</summary>
    Gelu,

    /// <summary><c>gelu_pytorch_tanh</c> (also read from <c>gelu_new</c>): the tanh approximation of GELU.</summary>
    GeluTanh,
}

/// <summary>Reads and writes <see cref="ClipActivation"/> as Hugging Face's strings.</summary>
internal sealed class ClipActivationJsonConverter : JsonConverter<ClipActivation>
{
    public override ClipActivation Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? name = reader.GetString();
        return name switch
        {
            "quick_gelu" => ClipActivation.QuickGelu,
            "gelu" => ClipActivation.Gelu,
            "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => ClipActivation.GeluTanh,
            _ => throw new JsonException($"hidden_act must be quick_gelu, gelu, gelu_new or gelu_pytorch_tanh; got '{name}'."),
        };
    }

    public override void Write(Utf8JsonWriter writer, ClipActivation value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value switch
        {
            ClipActivation.QuickGelu => "quick_gelu",
            ClipActivation.Gelu => "gelu",
            ClipActivation.GeluTanh => "gelu_pytorch_tanh",
            _ => throw new JsonException($"unknown activation {value}."),
        });
}
