using Diffusion.Internal;
using Diffusion.Clip.Models;

namespace Diffusion.Clip;

/// <summary>
/// CLIP's text transformer alone, without projection: Hugging Face transformers' <c>CLIPTextModel</c>, the text encoder of
/// Stable Diffusion (<c>text_encoder/</c> of a diffusers folder; SD 1 uses OpenAI's ViT-L/14 text tower with
/// <c>quick_gelu</c>, SD 2 an OpenCLIP ViT-H/14 text tower with <c>gelu</c>). Parameter names are <c>text_model.*</c>, as
/// in <see cref="ClipModel"/>, whose text tower is the same code.
/// </summary>
/// <remarks>
/// <see cref="forward"/> returns every position's hidden state after the final LayerNorm (<c>last_hidden_state</c>), the
/// per-token conditioning Stable Diffusion's U-Net attends to. Wrap the model with a tokenizer in a
/// <see cref="ClipTextEncoder"/> for an <see cref="Diffusion.Models.ITextEncoder"/>. The model owns its parameters; dispose it
/// when done. Its forward pass under <c>no_grad</c> may run on several threads at once.
/// </remarks>
public sealed partial class ClipTextModel : nn.Module<Tensor, Tensor>
{
    private readonly ClipTransformer text_model;

    /// <summary>Creates a text model with freshly initialised weights (transformers' initialisation).</summary>
    /// <param name="config">The architecture.</param>
    /// <exception cref="ArgumentException">The configuration breaks a rule (every violation is listed).</exception>
    public ClipTextModel(ClipTextConfig config)
        : this(config, initialize: true)
    {
    }

    private ClipTextModel(ClipTextConfig config, bool initialize)
        : base(nameof(ClipTextModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        OptionsValidation.ThrowIfAny(nameof(ClipTextConfig), [.. config.Violations()], nameof(config));

        Config = config;
        text_model = ClipTransformer.Text(config, initialize);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public ClipTextConfig Config { get; }

    /// <summary>The device of the weights.</summary>
    public Device Device => text_model.parameters().First().device;

    /// <summary>The element type of the weights.</summary>
    public ScalarType DType => text_model.parameters().First().dtype;

    /// <summary>The last hidden states after the final LayerNorm (Hugging Face <c>last_hidden_state</c>); no attention mask, as Stable Diffusion encodes.</summary>
    /// <param name="inputIds">Token ids <c>[N, T]</c> (int64, 1 ≤ T ≤ <see cref="ClipTextConfig.MaxPositionEmbeddings"/>) on the model's device.</param>
    /// <returns><c>[N, T, hidden_size]</c> in the model's dtype. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape, dtype or an id does not fit the model.</exception>
    public override Tensor forward(Tensor inputIds)
    {
        ClipTransformer.ValidateIds(inputIds, Config, nameof(inputIds));
        return text_model.call(inputIds);
    }
}
