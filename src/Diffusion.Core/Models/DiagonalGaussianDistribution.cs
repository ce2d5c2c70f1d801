using Diffusion.Models.Internal;

namespace Diffusion.Models;

/// <summary>
/// diffusers' <c>DiagonalGaussianDistribution</c> (<c>src/diffusers/models/autoencoders/vae.py</c>): the latent
/// distribution <see cref="AutoencoderKL.Encode"/> returns, a Gaussian per latent element whose mean and log-variance
/// are the two halves of the encoder's output along the channels.
/// </summary>
/// <remarks>
/// <para><b>Ownership.</b> The distribution owns <see cref="Parameters"/>, <see cref="Mean"/>, <see cref="LogVar"/>,
/// <see cref="Std"/> and <see cref="Var"/>: they stay valid until <see cref="Dispose"/> (or until the dispose scope that
/// was current when the distribution was made ends) and must not be disposed by the caller. <see cref="Mode"/>,
/// <see cref="Sample"/> and <see cref="Kl"/> return new tensors the caller owns.</para>
/// <para><c>LogVar</c> is clamped to [−30, 20] as in diffusers; <c>Std</c> = exp(LogVar / 2), <c>Var</c> = exp(LogVar).
/// A deterministic distribution has <c>Std</c> = <c>Var</c> = 0 and a KL divergence of 0.</para>
/// </remarks>
public sealed class DiagonalGaussianDistribution : IDisposable
{
    /// <summary>Creates the distribution from an encoder output.</summary>
    /// <param name="parameters">The mean and the log-variance concatenated along dimension 1: <c>[N, 2C, H, W]</c>,
    /// floating point. The distribution keeps its own handle to it (an alias): the caller may dispose its own.</param>
    /// <param name="deterministic">True gives <c>Std</c> = <c>Var</c> = 0 (diffusers' <c>deterministic</c>):
    /// <see cref="Sample"/> then returns the mean and <see cref="Kl"/> 0.</param>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is not a floating tensor <c>[N, 2C, H, W]</c>.</exception>
    public DiagonalGaussianDistribution(Tensor parameters, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.dim() != 4 || parameters.shape[1] < 2 || parameters.shape[1] % 2 != 0 || !is_floating_point(parameters.dtype))
        {
            throw new ArgumentException(
                $"parameters must be a floating tensor [N,2C,H,W] (mean and log-variance along dimension 1); got {parameters.dtype} {ModelInputs.Shape(parameters)}.",
                nameof(parameters));
        }

        Deterministic = deterministic;
        Parameters = parameters.alias();
        Tensor[] halves = Parameters.chunk(2, dim: 1);                                  // 2 × [N, C, H, W]
        Mean = halves[0];
        using (Tensor logVar = halves[1])
        {
            LogVar = logVar.clamp(-30.0, 20.0);
        }

        if (deterministic)
        {
            Std = zeros_like(Mean);
            Var = zeros_like(Mean);
        }
        else
        {
            Std = (LogVar * 0.5).exp_();
            Var = LogVar.exp();
        }
    }

    /// <summary>The encoder output the distribution was made from, <c>[N, 2C, H, W]</c>.</summary>
    public Tensor Parameters { get; }

    /// <summary>The mean, <c>[N, C, H, W]</c> (a view of the first half of <see cref="Parameters"/>).</summary>
    public Tensor Mean { get; }

    /// <summary>The log-variance clamped to [−30, 20], <c>[N, C, H, W]</c>.</summary>
    public Tensor LogVar { get; }

    /// <summary>The standard deviation exp(LogVar / 2); zeros when <see cref="Deterministic"/>.</summary>
    public Tensor Std { get; }

    /// <summary>The variance exp(LogVar); zeros when <see cref="Deterministic"/>.</summary>
    public Tensor Var { get; }

    /// <summary>Whether the distribution was made deterministic (zero variance).</summary>
    public bool Deterministic { get; }

    /// <summary>The most likely latent: the mean.</summary>
    /// <returns>A new handle to <see cref="Mean"/>'s values (it shares their storage); the caller owns the handle.</returns>
    public Tensor Mode() => Mean.alias();

    /// <summary>Draws a latent: <c>Mean + Std · ε</c>, ε standard normal.</summary>
    /// <param name="generator">A CPU generator, or null for libtorch's default one. The noise is drawn on the CPU in
    /// float32 (as diffusers' <c>randn_tensor</c> draws with a CPU generator) and then moved to the mean's device and
    /// dtype, so a seed gives the same latent on every device.</param>
    /// <returns>A new tensor of <see cref="Mean"/>'s shape, dtype and device; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="generator"/> is not a CPU generator.</exception>
    public Tensor Sample(Generator? generator = null)
    {
        if (generator is not null && generator.device.type != DeviceType.CPU)
        {
            throw new ArgumentException($"generator must be a CPU generator (the noise is drawn on the CPU); got one on {generator.device}.", nameof(generator));
        }

        using var scope = NewDisposeScope();
        Tensor noise = randn(Mean.shape, ScalarType.Float32, CPU, generator: generator).to(Mean.dtype).to(Mean.device);
        return (Mean + Std * noise).MoveToOuterDisposeScope();
    }

    /// <summary>The KL divergence to <paramref name="other"/>, or to the standard normal when null, summed over
    /// dimensions 1, 2 and 3 (diffusers' <c>kl</c>).</summary>
    /// <param name="other">The second distribution, of the same shape; null for N(0, I).</param>
    /// <returns>A new tensor <c>[N]</c>, or the one-element tensor <c>[0]</c> when <see cref="Deterministic"/> (as diffusers
    /// returns it); the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="other"/>'s shape differs.</exception>
    public Tensor Kl(DiagonalGaussianDistribution? other = null)
    {
        if (Deterministic)
        {
            return zeros(1, Mean.dtype, Mean.device);
        }

        using var scope = NewDisposeScope();
        Tensor sum;
        if (other is null)
        {
            sum = (Mean.pow(2) + Var - 1.0 - LogVar).sum([1, 2, 3]);                     // [N]
        }
        else
        {
            if (!other.Mean.shape.SequenceEqual(Mean.shape))
            {
                throw new ArgumentException(
                    $"other must have this distribution's shape {ModelInputs.Shape(Mean)}; got {ModelInputs.Shape(other.Mean)}.", nameof(other));
            }

            sum = ((Mean - other.Mean).pow(2) / other.Var + Var / other.Var - 1.0 - LogVar + other.LogVar).sum([1, 2, 3]);
        }

        return (0.5 * sum).MoveToOuterDisposeScope();
    }

    /// <summary>Releases the tensors the distribution owns (idempotent).</summary>
    public void Dispose()
    {
        Var.Dispose();
        Std.Dispose();
        LogVar.Dispose();
        Mean.Dispose();
        Parameters.Dispose();
    }
}
