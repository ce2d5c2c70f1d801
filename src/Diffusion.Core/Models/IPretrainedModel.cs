namespace Diffusion.Models;

/// <summary>
/// A model that saves and loads with its configuration: a folder of <c>config.json</c> (whose <c>_class_name</c>
/// names the class) and <c>diffusion_pytorch_model.safetensors</c>. <see cref="PretrainedModel.FromPretrained"/>
/// opens any such folder; each class also has its own typed <c>FromPretrained</c>.
/// </summary>
public interface IPretrainedModel
{
    /// <summary>The model's configuration as the <c>config.json</c> text <see cref="SavePretrained"/> writes.</summary>
    /// <returns>A JSON object with <c>_class_name</c>; <see cref="PretrainedModel.FromConfigJson"/> builds the same
    /// architecture from it.</returns>
    string ToConfigJson();

    /// <summary>Writes <c>config.json</c> and the weights (in their current dtype) into <paramref name="directory"/>,
    /// each file to a temporary name and then renamed.</summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    void SavePretrained(string directory);
}
