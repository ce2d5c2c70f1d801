using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Schedulers;

/// <summary>
/// A noise scheduler with diffusers' semantics: it adds noise for training and steps a sample
/// from timestep t to the previous one for sampling.
/// </summary>
/// <remarks>Tensors returned by the methods are new tensors owned by the caller.</remarks>
public interface INoiseScheduler
{
    /// <summary>Number of diffusion steps the model was trained with (diffusers' <c>num_train_timesteps</c>).</summary>
    int NumTrainTimesteps { get; }

    /// <summary>The inference timesteps, highest first, after <see cref="SetTimesteps"/>; int64 (float32 for Euler). Owned by the scheduler.</summary>
    Tensor Timesteps { get; }

    /// <summary>Cumulative products of (1 − β), float32, length <see cref="NumTrainTimesteps"/>. Owned by the scheduler.</summary>
    Tensor AlphasCumprod { get; }

    /// <summary>Standard deviation of the initial noise (1 for DDPM/DDIM, the largest sigma for Euler).</summary>
    double InitNoiseSigma { get; }

    /// <summary>What the model is trained to predict; training targets and <see cref="Step"/> follow it.</summary>
    PredictionType PredictionType { get; }

    /// <summary>How many model evaluations one step uses the history of (1 for single-step solvers).</summary>
    int Order { get; }

    /// <summary>Chooses the inference timesteps.</summary>
    /// <param name="numInferenceSteps">Number of denoising steps, 1 to <see cref="NumTrainTimesteps"/>.</param>
    void SetTimesteps(int numInferenceSteps);

    /// <summary>Scales the model input as the scheduler requires (identity except for Euler-type schedulers).</summary>
    /// <param name="sample">The current sample.</param>
    /// <param name="timestep">The current timestep (a scalar tensor).</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor ScaleModelInput(Tensor sample, Tensor timestep);

    /// <summary>Steps the sample from <paramref name="timestep"/> to the previous inference timestep.</summary>
    /// <param name="modelOutput">The model's prediction at this timestep.</param>
    /// <param name="timestep">The current timestep (a scalar tensor, one of <see cref="Timesteps"/>).</param>
    /// <param name="sample">The current sample x_t.</param>
    /// <param name="generator">Random source for stochastic steps.</param>
    /// <param name="varianceNoise">Explicit noise for stochastic steps; takes precedence over <paramref name="generator"/>.</param>
    /// <returns>The previous sample and, where defined, the predicted x0; both owned by the caller.</returns>
    SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null);

    /// <summary>The forward process q(x_t | x_0): √ᾱ_t·x0 + √(1 − ᾱ_t)·noise.</summary>
    /// <param name="originalSamples">Clean samples x0, [N, ...].</param>
    /// <param name="noise">Gaussian noise, same shape.</param>
    /// <param name="timesteps">One int64 timestep per sample, [N].</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps);

    /// <summary>The v-prediction target √ᾱ_t·noise − √(1 − ᾱ_t)·x0.</summary>
    /// <param name="sample">Clean samples x0, [N, ...].</param>
    /// <param name="noise">Gaussian noise, same shape.</param>
    /// <param name="timesteps">One int64 timestep per sample, [N].</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps);
}
