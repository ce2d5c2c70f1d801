using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Workloads;

/// <summary>
/// A U-Net with fixed inputs, ready to time a forward pass or a training step: the one piece of code that
/// both the BenchmarkDotNet benchmarks and the PyTorch comparison run. The book's <see cref="UNet"/> by default;
/// <see cref="ForUNet2D"/> makes one for diffusers' <see cref="UNet2DModel"/> (MSE loss, DDPM noise).
/// </summary>
/// <remarks>
/// The training step is the <see cref="Trainer"/>'s own (<c>TrainingRun.StepOnBatch</c>): x0 → [−1, 1],
/// noise and timesteps from the trainer's generator, <c>AddNoise</c>, forward, L1 loss, backward, AdamW with
/// the book's settings (lr 1e-4, β (0.95, 0.999), weight decay 1e-5). EMA and gradient clipping are off so
/// that it is the same work as PyTorch's forward + backward + AdamW; bfloat16 means the trainer's bf16 mode
/// (bf16 weights and activations, float32 master weights in AdamW).
/// </remarks>
internal sealed class UNetWorkload : IDisposable
{
    private readonly IDisposable? scheduler;
    private readonly TrainingRun? run;
    private readonly ImageBatch? batch;
    private readonly Tensor sample;
    private readonly Tensor timesteps;

    /// <param name="shape">Widths, side and batch.</param>
    /// <param name="dtype">Float32 or BFloat16.</param>
    /// <param name="training">True to prepare <see cref="TrainStep"/>, false for <see cref="Forward"/>.</param>
    /// <param name="weightsPath">A safetensors state dict to load (the comparison's shared weights); null keeps a seeded initialisation.</param>
    /// <param name="io">Optional inputs by name: "x0" (images in [0, 1]), "sample" and "timesteps"; missing ones are drawn from a seeded generator.</param>
    public UNetWorkload(UNetShape shape, ScalarType dtype, bool training, string? weightsPath = null, IReadOnlyDictionary<string, Tensor>? io = null)
        : this(shape, dtype, training, io, BookUNet(shape, weightsPath), new DdimScheduler(DdimSchedulerOptions.Book), LossType.L1)
    {
    }

    private UNetWorkload(UNetShape shape, ScalarType dtype, bool training, IReadOnlyDictionary<string, Tensor>? io,
        nn.Module<Tensor, Tensor, Tensor> model, INoiseScheduler noise, LossType loss)
    {
        Shape = shape;
        Model = model;
        scheduler = noise as IDisposable;
        Device device = BenchmarkEnvironment.Device;

        using var generator = new Generator(1, CPU);
        long[] size = [shape.Batch, shape.Channels, shape.ImageSize, shape.ImageSize];
        Tensor x0 = Take(io, "x0") ?? rand(size, generator: generator);
        sample = (Take(io, "sample") ?? randn(size, generator: generator)).to(device).to(dtype).DetachFromDisposeScope();
        timesteps = (Take(io, "timesteps") ?? randint(0, 1000, [shape.Batch], dtype: int64, generator: generator)).to(device).DetachFromDisposeScope();

        if (training)
        {
            Model.train();
            var options = new TrainerOptions
            {
                BatchSize = shape.Batch,
                UseEma = false,
                MaxGradNorm = null,
                BFloat16 = dtype == ScalarType.BFloat16,
                Device = device,
                LoaderWorkers = 1, // never started: the benchmark hands batches to StepOnBatch itself
                RandomHorizontalFlip = false,
                Loss = loss,
            };
            var trainer = new Trainer(Model, noise, options);
            run = new TrainingRun(trainer, new ProceduralFlowers(shape.Batch, shape.ImageSize), progress: null, CancellationToken.None);
            batch = new ImageBatch(0, 0, x0.DetachFromDisposeScope(), null, new string?[shape.Batch], [.. Enumerable.Range(0, shape.Batch)]);
        }
        else
        {
            x0.Dispose();
            Model.eval();
            Model.to(device);
            if (dtype != ScalarType.Float32)
            {
                Model.to(dtype);
            }
        }
    }

    /// <summary>The shape being timed.</summary>
    public UNetShape Shape { get; }

    /// <summary>The network.</summary>
    public nn.Module<Tensor, Tensor, Tensor> Model { get; }

    /// <summary>
    /// diffusers' <see cref="UNet2DModel"/> at <see cref="UNet2DShapes.Cifar10"/> (google/ddpm-cifar10-32), with
    /// diffusers' train_unconditional.py step: linear-β DDPM noise, MSE on the noise, AdamW.
    /// </summary>
    /// <param name="batch">Images per call (32×32).</param>
    /// <param name="dtype">Float32 or BFloat16.</param>
    /// <param name="training">True to prepare <see cref="TrainStep"/>, false for <see cref="Forward"/>.</param>
    /// <param name="folder">A diffusers model folder to load (config.json + weights, the comparison's); null: seeded weights.</param>
    /// <param name="io">Optional inputs, as for the constructor.</param>
    public static UNetWorkload ForUNet2D(int batch, ScalarType dtype, bool training, string? folder = null, IReadOnlyDictionary<string, Tensor>? io = null)
    {
        UNet2DModel model;
        if (folder is not null)
        {
            model = UNet2DModel.FromPretrained(folder);
        }
        else
        {
            torch.manual_seed(0);
            model = new UNet2DModel(UNet2DShapes.Cifar10);
        }

        var shape = new UNetShape([.. model.Config.BlockOutChannels], model.Config.SampleSize ?? 32, batch);
        return new UNetWorkload(shape, dtype, training, io, model, new DdpmScheduler(), LossType.Mse);
    }

    /// <summary>
    /// diffusers' <see cref="UNet2DConditionModel"/> (Stable Diffusion's U-Net) with fixed text states of 77 tokens,
    /// for forward passes only: <see cref="UNet2DConditionShapes.Reduced"/> (the PyTorch comparison's) or
    /// <see cref="UNet2DConditionShapes.StableDiffusion15"/>.
    /// </summary>
    /// <param name="batch">Latents per call.</param>
    /// <param name="dtype">Float32 or BFloat16.</param>
    /// <param name="config">The U-Net's shape; ignored when <paramref name="folder"/> is given.</param>
    /// <param name="latentSize">Side of the latents (64 for 512×512 images).</param>
    /// <param name="folder">A diffusers model folder to load (the comparison's); null: seeded weights.</param>
    /// <param name="io">Optional inputs: "sample", "timesteps", "encoder_hidden_states"; missing ones are drawn from a seeded generator.</param>
    public static UNetWorkload ForUNet2DCondition(int batch, ScalarType dtype, UNet2DConditionModelConfig config, int latentSize,
        string? folder = null, IReadOnlyDictionary<string, Tensor>? io = null)
    {
        UNet2DConditionModel model;
        if (folder is not null)
        {
            model = UNet2DConditionModel.FromPretrained(folder);
        }
        else
        {
            torch.manual_seed(0);
            model = new UNet2DConditionModel(config);
        }

        Tensor text;
        using (var generator = new Generator(2, CPU))
        {
            text = Take(io, "encoder_hidden_states") ?? randn([batch, UNet2DConditionShapes.TextLength, model.CrossAttentionDim], generator: generator);
        }

        var shape = new UNetShape([.. model.Config.BlockOutChannels], latentSize, batch, model.InChannels);
        return new UNetWorkload(shape, dtype, training: false, io, new TextConditionedUNet(model, text), new DdpmScheduler(), LossType.Mse);
    }

    /// <summary>One forward pass under no_grad; returns the prediction (float32 CPU copy only when <paramref name="keep"/>).</summary>
    public Tensor? Forward(bool keep = false)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor output = Model.call(sample, timesteps);
        BenchmarkEnvironment.Synchronize();
        return keep ? output.to(float32).cpu().MoveToOuterDisposeScope() : null;
    }

    /// <summary>One training step; returns the loss.</summary>
    public double TrainStep()
    {
        if (run is null || batch is null)
        {
            throw new InvalidOperationException("this workload was made for forward passes; create it with training: true.");
        }

        double loss = run.StepOnBatch(batch); // reads the loss back, so the step has finished (CUDA included)
        return loss;
    }

    public void Dispose()
    {
        run?.Dispose();
        batch?.Dispose();
        sample.Dispose();
        timesteps.Dispose();
        Model.Dispose();
        scheduler?.Dispose();
    }

    private static UNet BookUNet(UNetShape shape, string? weightsPath)
    {
        torch.manual_seed(0);
        var model = new UNet(new UNetOptions { HiddenDims = shape.HiddenDims, ImageSize = shape.ImageSize });
        if (weightsPath is not null)
        {
            model.LoadSafeTensors(weightsPath, strict: true);
        }

        return model;
    }

    private static Tensor? Take(IReadOnlyDictionary<string, Tensor>? io, string name) =>
        io is not null && io.TryGetValue(name, out Tensor? t) ? t.alias() : null;
}
