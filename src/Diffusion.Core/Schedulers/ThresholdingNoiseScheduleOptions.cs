namespace Diffusion.Schedulers;

/// <summary>
/// The options shared by the schedulers that form a predicted x0 in every step and may threshold it (DDPM, DDIM,
/// DPM-Solver, UniPC): dynamic thresholding and zero-terminal-SNR rescaling, with diffusers' keys and defaults.
/// </summary>
/// <remarks>Only this library's options records derive from it.</remarks>
public abstract record ThresholdingNoiseScheduleOptions : NoiseScheduleOptions
{
    /// <summary>Sets the shared defaults; see <see cref="NoiseScheduleOptions"/>.</summary>
    private protected ThresholdingNoiseScheduleOptions()
    {
    }

    /// <summary>
    /// Whether the predicted x0 is dynamically thresholded (Imagen) instead of clipped (<c>thresholding</c>); UniPC needs
    /// <see cref="UniPCMultistepSchedulerOptions.PredictX0"/> for it.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool Thresholding { get; init; }

    /// <summary>The percentile of |x0| dynamic thresholding uses (<c>dynamic_thresholding_ratio</c>).</summary>
    /// <value>The default value is 0.995.</value>
    public double DynamicThresholdingRatio { get; init; } = 0.995;

    /// <summary>The largest threshold dynamic thresholding may pick (<c>sample_max_value</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double SampleMaxValue { get; init; } = 1.0;

    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <inheritdoc/>
    internal sealed override bool RescalesBetasToZeroSnr => RescaleBetasZeroSnr;
}
