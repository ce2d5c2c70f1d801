using Diffusion.IO;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Loading and saving model folders.</summary>
public sealed partial class ConditionalUNet : IPretrainedFolderModel<ConditionalUNet, ConditionalUNetOptions>
{
    /// <summary>
    /// Opens a folder that <see cref="SavePretrained"/> wrote (<c>"_class_name": "ConditionalUNet"</c>, the
    /// <see cref="ConditionalUNetOptions"/> in snake_case), with the files and checks of <see cref="UNet.FromPretrained"/>.
    /// </summary>
    /// <inheritdoc cref="UNet.FromPretrained" path="/param"/>
    /// <inheritdoc cref="UNet.FromPretrained" path="/returns"/>
    /// <inheritdoc cref="UNet.FromPretrained" path="/exception"/>
    public static ConditionalUNet FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open<ConditionalUNet, ConditionalUNetOptions>(directory, device, dtype, loggerFactory);

    /// <inheritdoc />
    public string ToConfigJson() => Options.ToJson();

    /// <summary>Writes <c>config.json</c> (its <see cref="Options"/>, <c>"_class_name": "ConditionalUNet"</c>) and the
    /// weights, as <see cref="UNet.SavePretrained"/> does.</summary>
    /// <inheritdoc cref="UNet.SavePretrained" path="/param"/>
    /// <inheritdoc cref="UNet.SavePretrained" path="/exception"/>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory);

    // What PretrainedFolder.Open needs to know about this class.
    static ConditionalUNet IPretrainedFolderModel<ConditionalUNet, ConditionalUNetOptions>.Create(ConditionalUNetOptions options, ScalarType? dtype) => new(options, dtype: dtype);

    // The U-Net's shapes and, for a class-conditional model, the class embedding (one row more: the "no class" row).
    static IEnumerable<(string Key, long[] Shape)> IPretrainedFolderModel<ConditionalUNet, ConditionalUNetOptions>.ExpectedShapes(ConditionalUNetOptions o)
    {
        List<(string Key, long[] Shape)> expected = UNet.ExpectedShapes(o.UNet);
        if (o.NumClasses is { } classes)
        {
            expected.Add(("class_embedding.weight", [classes + 1, o.UNet.TimeEmbeddingDim]));
        }

        return expected;
    }
}
