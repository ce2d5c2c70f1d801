using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Internal;
using Diffusion.IO;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Clip;

/// <summary>Loading and saving Hugging Face <c>CLIPTextModel</c> folders.</summary>
public sealed partial class ClipTextModel
{
    /// <summary>Configuration file name.</summary>
    public const string ConfigFileName = PretrainedFolder.ConfigFileName;

    /// <summary>The weights file <see cref="SavePretrained"/> writes and <see cref="FromPretrained"/> looks for first.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The half-precision variant transformers writes with <c>variant="fp16"</c>, looked for second.</summary>
    public const string Fp16WeightsFileName = "model.fp16.safetensors";

    /// <summary>The PyTorch pickle of older folders, looked for last (read without running code from it).</summary>
    public const string PickleFileName = "pytorch_model.bin";

    private const string ModelType = "clip_text_model";

    // A buffer older transformers releases saved; positions are made on the fly here.
    private static readonly HashSet<string> IgnoredCheckpointKeys = new(StringComparer.Ordinal) { "text_model.embeddings.position_ids" };

    /// <summary>
    /// Opens a Hugging Face <c>CLIPTextModel</c> folder, such as the <c>text_encoder/</c> folder of a Stable Diffusion download:
    /// <c>config.json</c> (<c>model_type</c> <c>clip_text_model</c>; keys this model does not use are ignored) and the weights,
    /// <c>model.safetensors</c>, else <c>model.fp16.safetensors</c>, else <c>pytorch_model.bin</c>.
    /// </summary>
    /// <remarks>Safetensors are read one tensor at a time into the model's parameters (converted to their dtype and device),
    /// so the file is never held twice in memory. The model is in eval mode.</remarks>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32, whatever the file holds.</param>
    /// <param name="loggerFactory">Receives a line naming what was loaded; null means none.</param>
    /// <returns>The model. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating type this library loads.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or all three weights files are missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, the config is not a CLIP text config, or the weights do not fit it; the message names the file.</exception>
    public static ClipTextModel FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null)
    {
        string configPath = PretrainedFolder.RequireConfig(directory, "CLIPTextModel", dtype);
        ClipTextConfig config = ReadConfig(configPath);
        string weightsPath = PretrainedFolder.FindWeights(directory, WeightsFileName, Fp16WeightsFileName, PickleFileName);
        CheckSizesAgainstWeights(config, DiffusersWeights.Shapes(weightsPath), weightsPath);

        return Disposal.DisposeOnFailure(new ClipTextModel(config, initialize: false), model =>
        {
            model.to(device ?? CPU, dtype ?? ScalarType.Float32); // before loading: each tensor is copied straight into place
            TransformersWeights.Load(model, weightsPath, IgnoredCheckpointKeys, "do not fit the CLIPTextModel",
                unexpected => unexpected.Contains("text_projection.weight") ? " (a CLIPTextModelWithProjection: its projection is not used here)." : ".");
            model.eval();
            ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ClipTextModel>();
            Log.TextModelLoaded(logger, directory, model.parameters().Sum(p => p.numel()), model.DType.ToString(), config.HiddenAct);
        });
    }

    /// <summary>
    /// Writes the model as a Hugging Face <c>CLIPTextModel</c> folder: <c>config.json</c> (<c>architectures</c>
    /// <c>CLIPTextModel</c>, <c>model_type</c> <c>clip_text_model</c>) and <c>model.safetensors</c> in the weights' dtype,
    /// each written to a temporary name and renamed.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written.</exception>
    public void SavePretrained(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        this.SaveSafeTensors(Path.Combine(directory, WeightsFileName), new Dictionary<string, string> { ["format"] = "pt" });
        JsonObject root = JsonSerializer.SerializeToNode(Config, ClipConfig.JsonOptions)!.AsObject();
        root["architectures"] = new JsonArray("CLIPTextModel");
        root["model_type"] = ModelType;
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), root.ToJsonString(ClipConfig.JsonOptions));
    }

    private static ClipTextConfig ReadConfig(string configPath)
    {
        try
        {
            JsonObject root = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject
                ?? throw new InvalidDataException($"{configPath}: must hold a JSON object.");
            string? modelType = root["model_type"]?.GetValueKind() == JsonValueKind.String ? root["model_type"]!.GetValue<string>() : null;
            if (modelType is not null and not ModelType)
            {
                throw new InvalidDataException(
                    $"{configPath}: \"model_type\" is \"{modelType}\"; expected \"{ModelType}\" (a CLIPTextModel)." +
                    (modelType == "clip" ? " A full CLIP model folder opens with ClipModel.Load." : string.Empty));
            }

            ClipTextConfig config = root.Deserialize<ClipTextConfig>(ClipConfig.JsonOptions)
                ?? throw new InvalidDataException($"{configPath}: must hold a JSON object.");
            OptionsValidation.ThrowIfAnyInFile(configPath, "CLIPTextModel", [.. config.Violations()]);
            return config;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not a valid CLIP text config.json: {e.Message}", e);
        }
    }

    private static void CheckSizesAgainstWeights(ClipTextConfig c, IReadOnlyDictionary<string, IReadOnlyList<long>> shapes, string weightsPath)
    {
        (string Key, long[] Shape)[] expected =
        [
            ("text_model.embeddings.token_embedding.weight", [c.VocabSize, c.HiddenSize]),
            ("text_model.embeddings.position_embedding.weight", [c.MaxPositionEmbeddings, c.HiddenSize]),
            ($"text_model.encoder.layers.{c.NumHiddenLayers - 1}.mlp.fc1.weight", [c.IntermediateSize, c.HiddenSize]),
        ];
        StateDictCheck.ConfigSizes(weightsPath, ConfigFileName, "do not fit the CLIPTextModel", expected, shapes);
    }
}
