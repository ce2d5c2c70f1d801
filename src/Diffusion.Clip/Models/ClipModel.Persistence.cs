using Diffusion.Internal;
using Diffusion.IO;
using Diffusion.Models.Internal;

namespace Diffusion.Clip;

/// <summary>Loading and saving in the Hugging Face folder layout.</summary>
public sealed partial class ClipModel
{
    /// <summary>Weights file name in a Hugging Face model folder.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>Configuration file name.</summary>
    public const string ConfigFileName = PretrainedFolder.ConfigFileName;

    /// <summary>Image preprocessing file name.</summary>
    public const string PreprocessorConfigFileName = "preprocessor_config.json";

    // Non-persistent buffers that checkpoints written by older transformers still carry.
    private static readonly HashSet<string> IgnoredCheckpointKeys = new(StringComparer.Ordinal)
    {
        "text_model.embeddings.position_ids",
        "vision_model.embeddings.position_ids",
    };

    /// <summary>
    /// Opens a Hugging Face CLIP folder such as a download of openai/clip-vit-base-patch32:
    /// <c>config.json</c> and <c>model.safetensors</c>, plus <c>vocab.json</c> + <c>merges.txt</c> (for the
    /// text API) and <c>preprocessor_config.json</c> when present.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where to put the weights; the CPU when null.</param>
    /// <returns>The model. The caller owns and disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">config.json or model.safetensors is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the weights do not fit the configuration; the message names the file.</exception>
    public static ClipModel Load(string directory, Device? device = null)
    {
        PretrainedFolder.RequireDirectory(directory, "CLIP model");
        string configPath = RequireFile(directory, ConfigFileName);
        string weightsPath = RequireFile(directory, WeightsFileName);
        ClipConfig config = ClipConfig.Load(configPath);
        CheckSizesAgainstWeights(config, SafeTensors.ReadHeader(weightsPath), weightsPath);

        ClipTokenizer? tokenizer = null;
        string vocab = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges))
        {
            tokenizer = ClipTokenizer.FromFiles(vocab, merges, config.TextConfig.MaxPositionEmbeddings);
        }

        ClipImageProcessorOptions imageOptions = ClipImageProcessorOptions.ForImageSize(config.VisionConfig.ImageSize);
        string preprocessorPath = Path.Combine(directory, PreprocessorConfigFileName);
        if (File.Exists(preprocessorPath))
        {
            try
            {
                imageOptions = ClipImageProcessorOptions.FromJson(File.ReadAllText(preprocessorPath), imageOptions);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{preprocessorPath}: not a valid CLIP preprocessor config: {e.Message}", e);
            }
        }

        ClipModel model;
        try
        {
            model = new ClipModel(config, tokenizer, imageOptions, initialize: false);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{directory}: the files do not fit together: {e.Message}", e);
        }

        return Disposal.DisposeOnFailure(model, loaded =>
        {
            TransformersWeights.Load(loaded, weightsPath, IgnoredCheckpointKeys, "do not match the CLIP architecture");
            if (device is not null)
            {
                loaded.to(device);
            }
        });
    }

    /// <summary>
    /// Writes the model as a Hugging Face folder: <c>config.json</c>, <c>model.safetensors</c>,
    /// <c>preprocessor_config.json</c> and, when the model has a tokenizer, <c>vocab.json</c> + <c>merges.txt</c>.
    /// Each file is written to a temporary name and renamed.
    /// </summary>
    /// <param name="directory">The folder; created if needed.</param>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        this.SaveSafeTensors(Path.Combine(directory, WeightsFileName), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), Config.ToJson());
        AtomicFile.WriteAllText(Path.Combine(directory, PreprocessorConfigFileName), ImageProcessor.Options.ToJson());
        Tokenizer?.Save(directory);
    }

    // The configuration alone decides how much memory the model takes, before a single weight is read: every
    // size it names is compared with the weights file's header first, so a damaged config.json cannot ask for
    // more than the file holds (a wrong digit in intermediate_size would otherwise allocate gigabytes).
    private static void CheckSizesAgainstWeights(ClipConfig config, SafeTensorsHeader header, string weightsPath)
    {
        var shapes = header.Entries.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        ClipTextConfig text = config.TextConfig;
        ClipVisionConfig vision = config.VisionConfig;
        (string Key, long[] Shape)[] expected =
        [
            ("text_model.embeddings.token_embedding.weight", [text.VocabSize, text.HiddenSize]),
            ("text_model.embeddings.position_embedding.weight", [text.MaxPositionEmbeddings, text.HiddenSize]),
            ($"text_model.encoder.layers.{text.NumHiddenLayers - 1}.mlp.fc1.weight", [text.IntermediateSize, text.HiddenSize]),
            ("text_projection.weight", [config.ProjectionDim, text.HiddenSize]),
            ("vision_model.embeddings.patch_embedding.weight", [vision.HiddenSize, vision.NumChannels, vision.PatchSize, vision.PatchSize]),
            ("vision_model.embeddings.position_embedding.weight", [(long)vision.NumPatches + 1, vision.HiddenSize]),
            ($"vision_model.encoder.layers.{vision.NumHiddenLayers - 1}.mlp.fc1.weight", [vision.IntermediateSize, vision.HiddenSize]),
            ("visual_projection.weight", [config.ProjectionDim, vision.HiddenSize]),
        ];
        StateDictCheck.ConfigSizes(weightsPath, ConfigFileName, "do not match the CLIP architecture", expected, shapes);
    }

    private static string RequireFile(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{directory} has no {name}.", path);
    }
}
