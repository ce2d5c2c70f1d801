namespace Diffusion.Clip;

/// <summary>
/// The Fréchet distance between two sets of embeddings, each summarised by its mean μ and covariance Σ
/// (FID's formula, Heusel et al. 2017, here in CLIP's image-embedding space, so no Inception network is
/// needed): d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2·(Σ₁^½ Σ₂ Σ₁^½)^½). Lower means the two sets are more alike;
/// 0 for identical statistics.
/// </summary>
/// <remarks>
/// <para>
/// Everything is computed in float64 on the CPU, whatever the inputs' dtype and device. Covariances are the
/// unbiased sample covariances (divided by N − 1, as <c>numpy.cov</c> and pytorch-fid). The matrix square
/// roots come from symmetric eigendecompositions (<c>torch.linalg.eigh</c>): Σ₁^½ = V·diag(√λ)·Vᵀ, and
/// Tr((Σ₁^½ Σ₂ Σ₁^½)^½) = Σᵢ √λᵢ of that symmetric matrix. Tr((Σ₁^½ Σ₂ Σ₁^½)^½) equals Tr((Σ₁Σ₂)^½), the form
/// pytorch-fid evaluates with <c>scipy.linalg.sqrtm</c>, but needs no complex arithmetic.
/// </para>
/// <para>
/// The matrices are positive semi-definite, so negative eigenvalues can only be rounding (of the order of
/// 1e-16 × the largest one); they are clamped to 0 before the square root. This matters whenever N ≤ D: the
/// covariances are then singular (rank ≤ N − 1) and half their eigenvalues round to ±1e-17-ish. For the same
/// reason a result that rounds below 0 is returned as 0. With N ≤ D the statistics are poor estimates: use
/// a few hundred or more embeddings per set for a figure worth comparing (FID's own advice is thousands),
/// and compare figures only at the same N.
/// </para>
/// </remarks>
public static class FrechetDistance
{
    /// <summary>The Fréchet distance d² between two sets of embeddings (not its square root, as FID reports it).</summary>
    /// <param name="first">Embeddings <c>[N₁, D]</c>, N₁ ≥ 2, finite, floating point, any device.</param>
    /// <param name="second">Embeddings <c>[N₂, D]</c>, N₂ ≥ 2, the same D.</param>
    /// <returns>The distance, 0 or more. No tensor is returned; the inputs are left as they are.</returns>
    /// <exception cref="ArgumentException">A shape, dtype or value is not as described.</exception>
    public static double Compute(Tensor first, Tensor second)
    {
        ValidateEmbeddings(first, nameof(first));
        ValidateEmbeddings(second, nameof(second));
        if (first.shape[1] != second.shape[1])
        {
            throw new ArgumentException(
                $"second must have the same embedding size as first ({first.shape[1]}); got [{string.Join(',', second.shape)}].", nameof(second));
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        (Tensor mean1, Tensor cov1) = Statistics(first, nameof(first));
        (Tensor mean2, Tensor cov2) = Statistics(second, nameof(second));
        Tensor sqrtCov1 = SymmetricSquareRoot(cov1);                      // Σ₁^½, [D, D]
        Tensor middle = sqrtCov1.matmul(cov2).matmul(sqrtCov1);           // Σ₁^½ Σ₂ Σ₁^½, symmetric PSD
        double traceOfRoot = ClampedEigenvalues(middle).sqrt().sum().item<double>();
        double meanTerm = (mean1 - mean2).square().sum().item<double>();
        double value = meanTerm + cov1.trace().item<double>() + cov2.trace().item<double>() - (2 * traceOfRoot);
        return Math.Max(0, value);
    }

    /// <summary>
    /// The Fréchet distance between two sets of images in <paramref name="clip"/>'s image-embedding space: each
    /// image is embedded with <see cref="ClipModel.EncodeImages(Tensor)"/> (the normalised embeddings, under
    /// no_grad, <paramref name="batchSize"/> images at a time), then <see cref="Compute(Tensor, Tensor)"/>.
    /// </summary>
    /// <param name="clip">The CLIP model; the same one for every figure you compare.</param>
    /// <param name="first">Pixels <c>[N₁, 3, H, W]</c> in [0, 1] (e.g. what a pipeline generates), N₁ ≥ 2.</param>
    /// <param name="second">Pixels <c>[N₂, 3, H', W']</c> in [0, 1], N₂ ≥ 2; sizes may differ from <paramref name="first"/>'s.</param>
    /// <param name="batchSize">Images preprocessed and embedded at once (bounds memory); at least 1.</param>
    /// <returns>The distance, 0 or more. The inputs are left as they are.</returns>
    /// <exception cref="ArgumentException">A shape or value is not as described.</exception>
    public static double Compute(ClipModel clip, Tensor first, Tensor second, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ValidateImages(first, nameof(first));
        ValidateImages(second, nameof(second));
        using Tensor embeddings1 = Embed(clip, first, batchSize);
        using Tensor embeddings2 = Embed(clip, second, batchSize);
        return Compute(embeddings1, embeddings2);
    }

    // Embeds in chunks (CLIP's preprocessing resizes a whole chunk to 224² at once) and gathers on the CPU in float64.
    private static Tensor Embed(ClipModel clip, Tensor images, int batchSize)
    {
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < images.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                Tensor chunk = images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start));
                parts.Add(clip.EncodeImages(chunk).to(float64, CPU).MoveToOuterDisposeScope()); // [b, P]
            }

            return cat(parts, 0);
        }
        finally
        {
            foreach (Tensor part in parts)
            {
                part.Dispose();
            }
        }
    }

    private static (Tensor Mean, Tensor Covariance) Statistics(Tensor embeddings, string name)
    {
        Tensor x = embeddings.detach().to(float64, CPU);                  // [N, D]
        if (!x.isfinite().all().item<bool>())
        {
            throw new ArgumentException($"{name} must hold only finite values; it holds NaN or infinity.", name);
        }

        Tensor mean = x.mean([0]);                                        // [D]
        Tensor centred = x - mean;                                        // [N, D]
        Tensor covariance = centred.t().matmul(centred) / (x.shape[0] - 1); // [D, D], unbiased
        return (mean, covariance);
    }

    // A symmetric positive semi-definite matrix's square root V·diag(√max(λ, 0))·Vᵀ.
    private static Tensor SymmetricSquareRoot(Tensor matrix)
    {
        (Tensor eigenvalues, Tensor eigenvectors) = linalg.eigh(Symmetrize(matrix));
        return (eigenvectors * eigenvalues.clamp_min(0).sqrt().unsqueeze(0)).matmul(eigenvectors.t());
    }

    private static Tensor ClampedEigenvalues(Tensor matrix) => linalg.eigvalsh(Symmetrize(matrix)).clamp_min(0);

    // Products of symmetric matrices are symmetric only up to rounding; eigh reads one triangle, so average them.
    private static Tensor Symmetrize(Tensor matrix) => (matrix + matrix.t()) / 2;

    private static void ValidateEmbeddings(Tensor embeddings, string name)
    {
        ArgumentNullException.ThrowIfNull(embeddings, name);
        if (embeddings.dim() != 2 || embeddings.shape[0] < 2 || embeddings.shape[1] < 1)
        {
            throw new ArgumentException($"{name} must be [N, D] embeddings with N ≥ 2 and D ≥ 1; got [{string.Join(',', embeddings.shape)}].", name);
        }

        if (!embeddings.is_floating_point())
        {
            throw new ArgumentException($"{name} must be a floating-point tensor; got {embeddings.dtype}.", name);
        }
    }

    private static void ValidateImages(Tensor images, string name)
    {
        ArgumentNullException.ThrowIfNull(images, name);
        if (images.dim() != 4 || images.shape[0] < 2 || images.shape[1] != 3)
        {
            throw new ArgumentException($"{name} must be [N, 3, H, W] pixels with N ≥ 2; got [{string.Join(',', images.shape)}].", name);
        }
    }
}
