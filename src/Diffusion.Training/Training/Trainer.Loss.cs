using Diffusion.Data;
using Diffusion.Schedulers;

namespace Diffusion.Training;

/// <summary>The denoising loss, shared by training steps and <see cref="EvaluationLoss"/>.</summary>
public sealed partial class Trainer
{
    /// <summary>Stream tag that keeps the evaluation noise apart from any training seed: "eval".</summary>
    private const ulong EvaluationTag = 0x6576616C;

    /// <summary>
    /// The training loss of the model as it is now on a fixed held-out set, with fixed noise and timesteps:
    /// the same loss <see cref="Fit"/> minimises (<see cref="TrainerOptions.Loss"/>, <see cref="TrainerOptions.MinSnrGamma"/>,
    /// the scheduler's target), averaged over every item of <paramref name="heldOut"/>. Call it before and after
    /// <see cref="Fit"/> to see whether training made the model better on images it never saw.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Deterministic: the items are read in index order without augmentation, batched by
    /// <see cref="TrainingOptions.BatchSize"/>, and each batch's noise and timesteps are drawn, as in training,
    /// from a generator of its own seeded by <paramref name="seed"/> alone. The global generator
    /// (<c>torch.manual_seed</c>) is neither read nor advanced, and two calls on the same model, data and seed
    /// give the same number bit for bit (on the same machine: libtorch's float32 kernels differ in the last bits
    /// between CPU kinds). Timesteps are uniform over the scheduler's training steps, as in training, so the
    /// figure estimates the same expectation as the training loss.
    /// </para>
    /// <para>
    /// Runs under <c>no_grad</c> in float32 on the model's device, with the model in evaluation mode (restored
    /// afterwards); it changes no weight. After <see cref="Fit"/> the model holds the EMA weights when
    /// <see cref="TrainingOptions.UseEma"/> is set, so that is what the figure measures. A few dozen images give
    /// a figure whose noise (from the timesteps drawn) is small next to what a training run changes; use the
    /// same set and seed for every figure you compare.
    /// </para>
    /// </remarks>
    /// <param name="heldOut">The evaluation images (not the training set), e.g. <c>new ProceduralFlowers(64, size, seed: 1_000_003)</c>.</param>
    /// <param name="seed">Seed of the noise and timesteps.</param>
    /// <returns>The mean per-image loss, the mean of <see cref="EvaluationLosses"/>. No tensor is returned.</returns>
    /// <exception cref="ArgumentException"><paramref name="heldOut"/> is empty or its image size differs from what the model takes.</exception>
    /// <exception cref="InvalidDataException">An item cannot be read.</exception>
    public double EvaluationLoss(IImageDataset heldOut, long seed = 0) => EvaluationLosses(heldOut, seed).Average();

    /// <summary>
    /// Each held-out image's loss, in index order, with the noise and timestep <see cref="EvaluationLoss"/> gives it
    /// (whose figure is their mean). Two sets of these from the same images and seed, before and after training, pair
    /// up image by image: the spread of the differences says whether a small change of the mean is more than the
    /// check can resolve (the Flowers sample prints it so).
    /// </summary>
    /// <remarks>Deterministic, generator-neutral and weight-neutral as <see cref="EvaluationLoss"/> is.</remarks>
    /// <param name="heldOut">The evaluation images (not the training set).</param>
    /// <param name="seed">Seed of the noise and timesteps.</param>
    /// <returns>A new array of <c>heldOut.Count</c> losses, the caller's. No tensor is returned.</returns>
    /// <exception cref="ArgumentException"><paramref name="heldOut"/> is empty or its image size differs from what the model takes.</exception>
    /// <exception cref="InvalidDataException">An item cannot be read.</exception>
    public double[] EvaluationLosses(IImageDataset heldOut, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        if (heldOut.Count < 1)
        {
            throw new ArgumentException("heldOut must hold at least one image; got none.", nameof(heldOut));
        }

        Device device = Model.parameters().FirstOrDefault()?.device ?? CPU; // where the model is now, not where Fit will put it
        bool wasTraining = Model.training;
        using var loader = new DataLoader(heldOut, new DataLoaderOptions
        {
            BatchSize = Options.BatchSize,
            Shuffle = false,
            DropLast = false,
            Workers = 0,
            Seed = seed,
            LoggerFactory = Options.LoggerFactory,
        });
        using var generator = new Generator(unchecked((ulong)seed ^ (EvaluationTag << 32)), CPU);
        var losses = new List<double>(heldOut.Count);
        Model.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (ImageBatch batch in loader.Epoch(0))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    Tensor x0 = batch.Images.to(device).mul(2).sub_(1);                                // [B,3,H,W] in [−1, 1]
                    Tensor noise = randn(x0.shape, generator: generator).to(device);                   // ε, drawn on the CPU generator
                    Tensor timesteps = randint(0, Scheduler.NumTrainTimesteps, [x0.shape[0]], dtype: int64, generator: generator).to(device);
                    losses.AddRange(PerSampleLoss(x0, noise, timesteps, batch).to(float64).cpu().data<double>());
                }
            }
        }
        finally
        {
            Model.train(wasTraining);
        }

        return [.. losses];
    }

    /// <summary>
    /// Each sample's loss: noise <paramref name="x0"/> to x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε, predict, and compare with
    /// the scheduler's target (ε, v or x0) by L1 or MSE, with min-SNR-γ weights when set. <c>[B]</c>, float32,
    /// differentiable; in the caller's dispose scope.
    /// </summary>
    internal Tensor PerSampleLoss(Tensor x0, Tensor noise, Tensor timesteps, ImageBatch batch)
    {
        Tensor noisy = Scheduler.AddNoise(x0, noise, timesteps);                            // x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
        Tensor prediction = Predict(noisy, timesteps, batch).to(float32);
        Tensor target = (Scheduler.PredictionType switch
        {
            PredictionType.Epsilon => noise,
            PredictionType.VPrediction => Scheduler.GetVelocity(x0, noise, timesteps),
            _ => x0,
        }).to(float32);
        Tensor perElement = Options.Loss == LossType.L1 ? (prediction - target).abs() : (prediction - target).square();
        Tensor perSample = perElement.mean([1, 2, 3]);                                        // [B]
        return Options.MinSnrGamma is { } gamma ? perSample * MinSnrWeights(timesteps, gamma) : perSample;
    }

    // Min-SNR-γ (Hang et al. 2023): weight min(SNR, γ) relative to the target's own SNR scale.
    private Tensor MinSnrWeights(Tensor timesteps, double gamma)
    {
        Tensor alphaBar = Scheduler.AlphasCumprod.to(timesteps.device)[timesteps];
        Tensor snr = alphaBar / (1 - alphaBar);
        Tensor clipped = snr.clamp(max: gamma);
        return Scheduler.PredictionType switch
        {
            PredictionType.Epsilon => clipped / snr,
            PredictionType.VPrediction => clipped / (snr + 1),
            _ => clipped,
        };
    }
}
