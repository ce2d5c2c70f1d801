using TorchSharp.Modules;

namespace Diffusion.Clip;

/// <summary>
/// The sigmoid loss of SigLIP (Zhai et al., 2023; open_clip <c>SigLipLoss</c>, one process): every
/// image–text pair of the batch is a binary problem, label +1 on the diagonal and −1 elsewhere, on
/// logits <c>s · I·Tᵀ + b</c>; the loss is −Σ log σ(label · logit) / N. Owns the learnable bias <c>logit_bias</c>.
/// </summary>
/// <remarks>
/// The bias starts at −10 (open_clip's SigLIP models) so the many negative pairs do not swamp the
/// first steps; SigLIP models also start the temperature at 10 rather than CLIP's 1/0.07.
/// </remarks>
public sealed class SigLipLoss : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>open_clip's initial bias for SigLIP models.</summary>
    public const double DefaultInitialBias = -10.0;

    private readonly Parameter logit_bias;

    /// <summary>Creates the loss with its bias.</summary>
    /// <param name="initialBias">The bias's starting value; finite. The default is −10.</param>
    public SigLipLoss(double initialBias = DefaultInitialBias)
        : base(nameof(SigLipLoss))
    {
        if (!double.IsFinite(initialBias))
        {
            throw new ArgumentOutOfRangeException(nameof(initialBias), initialBias, "initialBias must be finite.");
        }

        logit_bias = nn.Parameter(tensor((float)initialBias));
        RegisterComponents();
    }

    /// <summary>The current bias.</summary>
    public float LogitBias
    {
        get
        {
            using var noGrad = no_grad();
            return logit_bias.item<float>();
        }
    }

    /// <summary>The loss for a batch with an explicit bias: −Σᵢⱼ log σ(zᵢⱼ · (s·Iᵢ·Tⱼ + b)) / N, z = +1 if i = j else −1.</summary>
    /// <param name="imageFeatures">Normalised image embeddings <c>[N, D]</c>; row i matches text row i.</param>
    /// <param name="textFeatures">Normalised text embeddings <c>[N, D]</c>.</param>
    /// <param name="logitScale">The temperature s, a scalar tensor.</param>
    /// <param name="logitBias">The bias b, a scalar tensor.</param>
    /// <returns>A scalar tensor, differentiable. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit.</exception>
    public static Tensor Compute(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, Tensor logitBias)
    {
        LossInputs.Validate(imageFeatures, textFeatures, logitScale);
        ArgumentNullException.ThrowIfNull(logitBias);
        if (logitBias.numel() != 1)
        {
            throw new ArgumentException($"logitBias must be a scalar; got [{string.Join(',', logitBias.shape)}].", nameof(logitBias));
        }

        using var scope = NewDisposeScope();
        long n = imageFeatures.shape[0];
        Tensor logits = (logitScale * imageFeatures.matmul(textFeatures.t())) + logitBias; // [N, N]
        Tensor labels = (2 * eye(n, dtype: logits.dtype, device: logits.device)) - 1; // +1 diagonal, −1 elsewhere
        Tensor loss = -nn.functional.logsigmoid(labels * logits).sum() / n;
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The loss with this module's bias.</summary>
    /// <param name="imageFeatures">Normalised image embeddings <c>[N, D]</c>.</param>
    /// <param name="textFeatures">Normalised text embeddings <c>[N, D]</c>.</param>
    /// <param name="logitScale">The temperature, a scalar tensor.</param>
    /// <returns>A scalar tensor, differentiable (also in the bias). The caller owns and disposes it.</returns>
    public override Tensor forward(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale) =>
        Compute(imageFeatures, textFeatures, logitScale, logit_bias);
}
