using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>UNet2DModel</c>.</summary>
internal static partial class ModelConfigJson
{
    private static readonly ConfigKey<UNet2DModelConfig>[] UNet2DKeys = KeysOf<UNet2DModelConfig>(
        [],
        [new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) })]);

    public static UNet2DModelConfig ReadUNet2D(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, UNet2DKeys);

    public static string WriteUNet2D(UNet2DModelConfig c) => Write(c, UNet2DKeys, "UNet2DModel", diffusersClass: true);
}
