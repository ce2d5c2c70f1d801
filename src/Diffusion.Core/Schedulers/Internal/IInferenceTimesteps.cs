namespace Diffusion.Schedulers.Internal;

/// <summary>
/// A scheduler's inference timesteps as <see cref="NoiseScheduler{TOptions}"/> reads them: the integer ones of DDPM, DDIM
/// and PNDM (<see cref="DiscreteTimesteps"/>) or the σ-based ones of the others (<see cref="SigmaTimesteps"/>). Each also
/// knows the sample space that goes with it: how the model input is scaled, the initial noise and the forward process.
/// </summary>
internal interface IInferenceTimesteps : IDisposable
{
    /// <summary>The timesteps as a tensor owned by this object.</summary>
    Tensor Tensor { get; }

    /// <summary>The N last set, or null before SetTimesteps.</summary>
    int? NumInferenceSteps { get; }

    /// <summary>Checks and records where the next sampling loop starts (diffusers' set_begin_index).</summary>
    /// <param name="beginIndex">An index into the timesteps.</param>
    /// <param name="schedulerName">Names the scheduler in the message for a call before SetTimesteps.</param>
    void SetBeginIndex(int beginIndex, string schedulerName);

    /// <summary>The standard deviation of the initial noise (diffusers' init_noise_sigma).</summary>
    /// <param name="spacing">The options' timestep spacing (leading spacing widens the σ-space noise).</param>
    double InitNoiseSigma(TimestepSpacing spacing);

    /// <summary>The model input for <paramref name="sample"/> at <paramref name="timestep"/> (diffusers' scale_model_input).</summary>
    Tensor ScaleModelInput(Tensor sample, Tensor timestep);

    /// <summary>The forward process at <paramref name="timesteps"/> (diffusers' add_noise).</summary>
    Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps);
}
