using Diffusion.Models;
using Diffusion.Runtime;
using Diffusion.Schedulers;

namespace Diffusion.Pipelines;

/// <summary>
/// Samples images from a trained denoiser with any <see cref="INoiseScheduler"/>: start from Gaussian
/// noise and let the scheduler step it down to a clean image, one model call per step.
/// </summary>
/// <remarks>
/// Noise comes from a CPU generator seeded with the call's seed (libtorch's generator, the same as
/// PyTorch's), so the same seed gives the same starting noise on CPU and GPU and as
/// <c>torch.randn(shape, generator=torch.Generator().manual_seed(seed))</c>.
/// <para>
/// Thread safety: the scheduler is stateful, so <see cref="Generate"/> calls on one pipeline run one at a time
/// (a lock; a second caller waits) and each returns what it would return alone. To sample in parallel, give each
/// thread its own pipeline with its own scheduler; they may share one model, whose forward pass under
/// <c>no_grad</c> is safe to run concurrently. Do not use <see cref="Scheduler"/> elsewhere during a call.
/// </para>
/// <para>
/// Ownership: a pipeline made with a constructor only borrows its model and scheduler; <see cref="Dispose"/> releases
/// nothing of them and the caller disposes both. A pipeline from <see cref="FromPretrained"/> owns the model it loaded and
/// the scheduler it read from the folder (or made), and disposes them in <see cref="Dispose"/>; a scheduler passed to
/// <see cref="FromPretrained"/> stays the caller's.
/// </para>
/// </remarks>
public sealed partial class DiffusionPipeline : IDisposable
{
    private readonly nn.Module<Tensor, Tensor, Tensor> model;
    private readonly Lock gate = new();
    private readonly bool ownsModel;
    private readonly bool ownsScheduler;
    private bool disposed;

    /// <summary>Creates a pipeline for the book's U-Net; sample shape from its options. The pipeline borrows both arguments.</summary>
    /// <param name="unet">The trained U-Net.</param>
    /// <param name="scheduler">The sampler.</param>
    public DiffusionPipeline(UNet unet, INoiseScheduler scheduler)
        : this(unet, scheduler, (unet ?? throw new ArgumentNullException(nameof(unet))).Options.InChannels, unet.Options.ImageSize)
    {
    }

    /// <summary>Creates a pipeline for a denoiser whose samples are [channels, imageSize, imageSize]. The pipeline borrows the model and the scheduler: disposing it disposes neither.</summary>
    /// <param name="model">forward(sample, timestep) → the scheduler's prediction type (noise, v or x0).</param>
    /// <param name="scheduler">The sampler.</param>
    /// <param name="channels">Channels of a sample; at least 1.</param>
    /// <param name="imageSize">Side of a sample in pixels; at least 1.</param>
    public DiffusionPipeline(nn.Module<Tensor, Tensor, Tensor> model, INoiseScheduler scheduler, int channels, int imageSize)
        : this(model, scheduler, channels, imageSize, ownsModel: false, ownsScheduler: false)
    {
    }

    private DiffusionPipeline(nn.Module<Tensor, Tensor, Tensor> model, INoiseScheduler scheduler, int channels, int imageSize, bool ownsModel, bool ownsScheduler)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        TorchRuntime.EnsureAvailable();
        this.model = model;
        this.ownsModel = ownsModel;
        this.ownsScheduler = ownsScheduler;
        Scheduler = scheduler;
        Channels = channels;
        ImageSize = imageSize;
    }

    /// <summary>The denoiser this pipeline samples with (owned by the pipeline when it came from <see cref="FromPretrained"/>).</summary>
    public nn.Module<Tensor, Tensor, Tensor> Model => model;

    /// <summary>The scheduler this pipeline samples with.</summary>
    public INoiseScheduler Scheduler { get; }

    /// <summary>Channels of a sample.</summary>
    public int Channels { get; }

    /// <summary>Side of a sample in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>Generates images. Concurrent calls on one pipeline wait for each other (see the remarks on thread safety).</summary>
    /// <param name="count">Number of images; at least 1.</param>
    /// <param name="inferenceSteps">Denoising steps (e.g. 1000 for DDPM, 50 for DDIM, 20 for DPM-Solver++).</param>
    /// <param name="seed">Seed of the noise; the same seed and batch size give the same images.</param>
    /// <param name="batchSize">Images per model call; null samples all at once. Batches draw from one generator in turn.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images [count, C, H, W], float32 in [0, 1], on the CPU; owned by the caller.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The pipeline has been disposed.</exception>
    public Tensor Generate(int count, int inferenceSteps = 50, long seed = 0, int? batchSize = null,
        IProgress<SamplingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inferenceSteps, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inferenceSteps, Scheduler.NumTrainTimesteps);
        if (batchSize is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1 or null.");
        }

        (Device device, ScalarType modelType) = DeviceAndType();
        using var generator = new Generator((ulong)seed, CPU);
        using var noGrad = no_grad();
        var outputs = new List<Tensor>();
        lock (gate) // the scheduler's timesteps and history belong to one sampling loop at a time
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            try
            {
                foreach ((_, int n, int b, int batches) in DenoisingLoop.Batches(count, batchSize))
                {
                    outputs.Add(SampleBatch(n, inferenceSteps, generator, device, modelType, b, batches, progress, cancellationToken));
                }

                return outputs.Count == 1 ? outputs[0] : cat(outputs, 0);
            }
            finally
            {
                if (outputs.Count > 1)
                {
                    outputs.ForEach(t => t.Dispose());
                }
            }
        }
    }

    /// <summary>
    /// Disposes what the pipeline owns: for a pipeline from <see cref="FromPretrained"/>, the loaded model and the scheduler
    /// it read from the folder (not a scheduler the caller passed); for one made with a constructor, nothing.
    /// </summary>
    public void Dispose()
    {
        lock (gate) // not while a Generate call is using them
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            if (ownsModel)
            {
                model.Dispose();
            }

            if (ownsScheduler)
            {
                Scheduler.Dispose();
            }
        }
    }

    private Tensor SampleBatch(int n, int steps, Generator generator, Device device, ScalarType modelType, int batch, int batches,
        IProgress<SamplingProgress>? progress, CancellationToken cancellationToken) =>
        DenoisingLoop.Run(Scheduler, [n, Channels, ImageSize, ImageSize], steps, generator, device, modelType,
            (input, t) => model.call(input, t), batch, batches, progress, cancellationToken);

    private (Device Device, ScalarType Type) DeviceAndType()
    {
        foreach (var parameter in model.parameters())
        {
            return (parameter.device, parameter.dtype);
        }

        return (CPU, ScalarType.Float32);
    }
}
