using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Pseudo numerical methods for diffusion models (Liu et al. 2022, https://arxiv.org/abs/2202.09778): the transfer part
/// of eq. (9) (the DDIM step) driven by a pseudo Runge–Kutta warm-up (PRK) and then pseudo linear multistep (PLMS,
/// Adams–Bashforth on ε). Numerically diffusers' <c>PNDMScheduler</c>, Stable Diffusion 1.x's saved default (with
/// <see cref="PNDMSchedulerOptions.SkipPrkSteps"/>).
/// </summary>
/// <remarks>
/// <para><see cref="INoiseScheduler.Timesteps"/> repeat entries, and each element is one model call: with
/// <see cref="PNDMSchedulerOptions.SkipPrkSteps"/> the list is N + 1 long (the second timestep twice: its first visit
/// is an Euler probe, the second redoes the step with the averaged ε); without, the first 12 elements are three
/// Runge–Kutta steps of four calls at t, t − δ/2, t − δ/2, t − δ (N + 9 elements, N ≥ 4). A loop over
/// <see cref="INoiseScheduler.Timesteps"/> that passes each element to <see cref="Step"/> is all it needs
/// (<see cref="INoiseScheduler.Order"/> is 1, as in diffusers).</para>
/// <para>Like diffusers, the scheduler counts its steps and picks the method from the count, not from the timestep; the
/// timestep still has to be one of <see cref="INoiseScheduler.Timesteps"/> and sets where the step ends. It keeps the
/// last four ε and the warm-up's sample (owned by it, freed by <see cref="SetTimesteps"/>,
/// <see cref="INoiseScheduler.SetBeginIndex"/> and <see cref="IDisposable.Dispose"/>). A <see cref="Step"/> after the
/// last one starts a new loop (diffusers would carry on with the old history).
/// <see cref="SchedulerOutput.PredOriginalSample"/> is null, as in diffusers.</para>
/// </remarks>
public sealed class PNDMScheduler : NoiseScheduler<PNDMSchedulerOptions>
{
    /// <summary>PRK: three steps of four model calls before the multistep part.</summary>
    private const int PrkCalls = 12;

    private readonly DiscreteTimesteps _timesteps;
    private readonly float _finalAlphaCumprod;
    private readonly List<Tensor> _ets = [];
    private Tensor? _curSample;
    private Tensor? _curModelOutput;
    private int _counter;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (PRK warm-up, leading spacing).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public PNDMScheduler(PNDMSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), zeroSnrFloor: false)
    {
        _timesteps = new DiscreteTimesteps(Schedule);

        // After the last step there is no ᾱ_{t−δ}: use 1 (a clean sample) or ᾱ_0.
        _finalAlphaCumprod = Schedule.FinalAlphaCumprod(Options.SetAlphaToOne);
    }

    private protected override IInferenceTimesteps Inference => _timesteps;

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">Also: fewer than 4 steps with the Runge–Kutta warm-up.</exception>
    public override void SetTimesteps(int numInferenceSteps)
    {
        if (!Options.SkipPrkSteps && numInferenceSteps is >= 1 and < 4)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"numInferenceSteps must be at least 4 when SkipPrkSteps (skip_prk_steps) is false (the Runge-Kutta warm-up takes three steps); got {numInferenceSteps}.");
        }

        // d_0 > d_1 > … > d_{N−1} by the spacing rule.
        long[] d = DiscreteTimesteps.Spaced(Options, NumTrainTimesteps, numInferenceSteps);
        var values = new List<long>(d.Length + 9) { d[0] };
        if (Options.SkipPrkSteps)
        {
            // PLMS from the start: d_1 twice (Euler probe, then the step redone with the mean ε), then the rest.
            values.AddRange(d.Skip(1).Take(1));
            values.AddRange(d.Skip(1));
        }
        else
        {
            // Three Runge-Kutta steps d_k → d_{k+1}, each evaluated at d_k, d_{k+1} + h (twice) and d_{k+1}, h = δ/2.
            long h = NumTrainTimesteps / numInferenceSteps / 2;
            for (int k = 1; k <= 3; k++)
            {
                values.AddRange([d[k] + h, d[k] + h, d[k]]);
                if (k < 3)
                {
                    values.Add(d[k]);
                }
            }

            values.AddRange(d.Skip(3));
        }

        _timesteps.Set([.. values], numInferenceSteps);
        ClearState();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// diffusers' PNDM has no begin index: its step counter starts at 0 whatever the first timestep, and so does this
    /// one (the history is cleared; the first step is a first-order probe). With the Runge–Kutta warm-up only index 0
    /// is allowed, since the warm-up needs the first timesteps (diffusers would run it at the wrong ones).
    /// </remarks>
    /// <exception cref="InvalidOperationException">Also: <paramref name="beginIndex"/> &gt; 0 with <see cref="PNDMSchedulerOptions.SkipPrkSteps"/> false.</exception>
    public override void SetBeginIndex(int beginIndex)
    {
        base.SetBeginIndex(beginIndex);
        if (!Options.SkipPrkSteps && beginIndex > 0)
        {
            throw new InvalidOperationException($"PNDMScheduler cannot start at step {beginIndex} with SkipPrkSteps (skip_prk_steps) false: its Runge-Kutta warm-up has to run over the first {PrkCalls} timesteps. Use SkipPrkSteps = true (Stable Diffusion's setting) for image-to-image.");
        }

        ClearState();
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int t = _timesteps.StepTimestep(modelOutput, timestep, sample, generator, varianceNoise, nameof(PNDMScheduler), out _);
        if (_counter >= _timesteps.Values.Length)
        {
            ClearState();
        }

        using var scope = NewDisposeScope();
        Tensor prevSample = _counter < PrkCalls && !Options.SkipPrkSteps ? StepPrk(modelOutput, t, sample) : StepPlms(modelOutput, t, sample);
        _counter++;
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), null);
    }

    /// <summary>
    /// One of the four calls of a pseudo Runge–Kutta step d_k → d_{k+1} (PNDM's eq. 13 with the transfer of eq. 9):
    /// every call steps from d_k's sample, the first three with their own ε to the next evaluation point, the last
    /// with (ε1 + 2ε2 + 2ε3 + ε4)/6 to d_{k+1}.
    /// </summary>
    private Tensor StepPrk(Tensor modelOutput, int t, Tensor sample)
    {
        int half = NumTrainTimesteps / NumInferenceSteps!.Value / 2;
        long prevT = t - (_counter % 2 == 1 ? 0 : half);
        long from = _timesteps.Values[_counter / 4 * 4];
        Tensor epsilon = modelOutput;
        switch (_counter % 4)
        {
            case 0:
                Keep(ref _curModelOutput, modelOutput * (1.0 / 6));
                _ets.Add(modelOutput.alias().DetachFromDisposeScope());
                Keep(ref _curSample, sample.alias());
                break;
            case 1:
            case 2:
                Keep(ref _curModelOutput, _curModelOutput! + (modelOutput * (1.0 / 3)));
                break;
            default:
                epsilon = _curModelOutput! + (modelOutput * (1.0 / 6));
                Keep(ref _curModelOutput, null);
                break;
        }

        return PrevSample(_curSample ?? sample, from, prevT, epsilon);
    }

    /// <summary>
    /// A pseudo linear multistep step t → t − δ (PNDM's eq. 12): ε from the last four model outputs by the
    /// Adams–Bashforth weights (55, −59, 37, −9)/24, lower orders while fewer are known. Without the warm-up the first
    /// two calls are a second-order start: an Euler probe to t − δ, then the same step redone with the mean ε.
    /// </summary>
    private Tensor StepPlms(Tensor modelOutput, int t, Tensor sample)
    {
        if (!Options.SkipPrkSteps && _ets.Count < 3)
        {
            throw new InvalidOperationException($"PNDMScheduler's multistep part needs the Runge-Kutta warm-up's 3 model outputs; it has {_ets.Count}.");
        }

        int ratio = NumTrainTimesteps / NumInferenceSteps!.Value;
        long from = t;
        long prevT = t - ratio;
        if (_counter != 1)
        {
            while (_ets.Count > 3)
            {
                _ets[0].Dispose();
                _ets.RemoveAt(0);
            }

            _ets.Add(modelOutput.alias().DetachFromDisposeScope());
        }
        else
        {
            // The redone first step: from t + δ to t.
            prevT = t;
            from = t + ratio;
        }

        Tensor x = sample;
        Tensor epsilon;
        int count = _ets.Count;
        if (count == 1 && _counter == 0)
        {
            epsilon = modelOutput;
            Keep(ref _curSample, sample.alias());
        }
        else if (count == 1 && _counter == 1)
        {
            epsilon = (modelOutput + _ets[^1]) / 2;
            x = _curSample!.alias();
            Keep(ref _curSample, null);
        }
        else if (count == 2)
        {
            epsilon = ((_ets[^1] * 3) - _ets[^2]) / 2;
        }
        else if (count == 3)
        {
            epsilon = ((_ets[^1] * 23) - (_ets[^2] * 16) + (_ets[^3] * 5)) / 12;
        }
        else
        {
            epsilon = ((_ets[^1] * 55) - (_ets[^2] * 59) + (_ets[^3] * 37) - (_ets[^4] * 9)) * (1.0 / 24);
        }

        return PrevSample(x, from, prevT, epsilon);
    }

    /// <summary>
    /// PNDM's eq. (9), the transfer x_t → x_{t−δ} for a given ε (the deterministic DDIM step):
    /// x_{t−δ} = √(ᾱ_{t−δ}/ᾱ_t)·x_t − (ᾱ_{t−δ} − ᾱ_t)·ε / (ᾱ_t·√(1 − ᾱ_{t−δ}) + √((1 − ᾱ_t)·ᾱ_t·ᾱ_{t−δ})).
    /// </summary>
    private Tensor PrevSample(Tensor sample, long t, long prevT, Tensor modelOutput)
    {
        if (t >= NumTrainTimesteps)
        {
            throw new InvalidOperationException($"PNDMScheduler's step would start at timestep {t}, beyond the last training timestep ({NumTrainTimesteps - 1}): pass the elements of Timesteps in order.");
        }

        float alphaProdT = Schedule.AlphasCumprod[t];
        float alphaProdTPrev = Schedule.AlphaCumprodAt(prevT, _finalAlphaCumprod);
        float betaProdT = 1 - alphaProdT;
        float betaProdTPrev = 1 - alphaProdTPrev;

        // v-prediction: ε = √ᾱ_t·v + √(1 − ᾱ_t)·x_t.
        if (Options.PredictionType == PredictionType.VPrediction)
        {
            modelOutput = (modelOutput * MathF.Sqrt(alphaProdT)) + (sample * MathF.Sqrt(betaProdT));
        }

        float sampleCoeff = MathF.Sqrt(alphaProdTPrev / alphaProdT);
        float denominator = (alphaProdT * MathF.Sqrt(betaProdTPrev)) + MathF.Sqrt(alphaProdT * betaProdT * alphaProdTPrev);
        return (sample * sampleCoeff) - (modelOutput * (alphaProdTPrev - alphaProdT) / denominator);
    }

    /// <summary>Replaces a kept tensor (disposing the old one); the new one leaves the caller's dispose scope.</summary>
    private static void Keep(ref Tensor? slot, Tensor? value)
    {
        slot?.Dispose();
        slot = value?.DetachFromDisposeScope();
    }

    /// <summary>The counter and history back to a first step (diffusers' set_timesteps).</summary>
    private protected override void ClearState()
    {
        foreach (Tensor e in _ets)
        {
            e.Dispose();
        }

        _ets.Clear();
        Keep(ref _curSample, null);
        Keep(ref _curModelOutput, null);
        _counter = 0;
    }
}
