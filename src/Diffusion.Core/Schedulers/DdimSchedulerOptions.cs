using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="DdimScheduler"/>: diffusers' <c>DDIMScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record DdimSchedulerOptions : ThresholdingNoiseScheduleOptions
{
    /// <summary>Options at diffusers' defaults, among them <see cref="TimestepSpacing.Leading"/> spacing.</summary>
    public DdimSchedulerOptions() => TimestepSpacing = TimestepSpacing.Leading;

    /// <summary>Whether the predicted x0 is clipped to ±<see cref="ClipSampleRange"/> (<c>clip_sample</c>).</summary>
    /// <value>The default value is true.</value>
    public bool ClipSample { get; init; } = true;

    /// <summary>The clipping bound when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>
    /// Whether the last step ends at ᾱ = 1 (true) or at ᾱ_0 (false) (<c>set_alpha_to_one</c>).
    /// </summary>
    /// <value>The default value is true.</value>
    public bool SetAlphaToOne { get; init; } = true;

    /// <summary>
    /// η of the DDIM paper, eq. (16): 0 is deterministic DDIM, 1 has DDPM's variance. An argument of diffusers'
    /// <c>step</c>; here an option (JSON <c>"eta"</c>, our extra).
    /// </summary>
    /// <value>The default value is 0.</value>
    public double Eta { get; init; }

    /// <summary>
    /// Whether ε is re-derived from the clipped x0 before the "direction pointing to x_t" (GLIDE's choice). An
    /// argument of diffusers' <c>step</c>; here an option (JSON <c>"use_clipped_model_output"</c>, our extra).
    /// </summary>
    /// <value>The default value is false.</value>
    public bool UseClippedModelOutput { get; init; }

    /// <summary>
    /// Whether the previous timestep is the next element of <see cref="INoiseScheduler.Timesteps"/> (our extra, JSON
    /// <c>"previous_timestep_from_schedule"</c>). diffusers always uses t − T / N, which for
    /// <see cref="TimestepSpacing.Linspace"/> and <see cref="TimestepSpacing.Trailing"/> is not the next
    /// timestep in the list; false (the default) matches diffusers.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool PreviousTimestepFromSchedule { get; init; }

    /// <summary>
    /// The sampler of "Learn Generative AI with PyTorch", ch. 15 (markhliu/DGAI <c>utils/ch15util.py</c>,
    /// <c>DDIMScheduler(num_train_timesteps=1000)</c> sampled with <c>eta=1</c>, <c>use_clipped_model_output=True</c>):
    /// the <see cref="BetaSchedule.ClippedCosine"/> schedule (cosine, s = 0.008, β clipped to [1e-4, 0.02], ᾱ by
    /// float32 running products), x0 clipped to ±1, ᾱ = 1 after the last step, η = 1, clipped model output,
    /// leading spacing. With 50 steps the timesteps are 980, 960, …, 0.
    /// </summary>
    /// <remarks>
    /// The book's set_timesteps is np.arange(0, 1000, 1000 // N); for N dividing 1000 that is leading spacing. For
    /// other N it yields more than N steps (N = 30: 31 steps from 990), where this preset, like diffusers, gives N
    /// (from 957).
    /// </remarks>
    public static DdimSchedulerOptions Book { get; } = new()
    {
        NumTrainTimesteps = 1000,
        BetaStart = 0.0001,
        BetaEnd = 0.02,
        BetaSchedule = BetaSchedule.ClippedCosine,
        ClipSample = true,
        ClipSampleRange = 1.0,
        SetAlphaToOne = true,
        Eta = 1.0,
        UseClippedModelOutput = true,
        TimestepSpacing = TimestepSpacing.Leading,
    };

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.Clipping(ClipSample, ClipSampleRange, Thresholding, DynamicThresholdingRatio, SampleMaxValue, errors);
        if (!(Eta >= 0 && Eta <= 1))
        {
            errors.Add($"Eta (eta) must lie in [0, 1]; got {OptionsRules.F(Eta)}");
        }
    }
}
