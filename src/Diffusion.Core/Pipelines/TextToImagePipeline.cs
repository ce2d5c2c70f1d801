using Diffusion.Models;
using Diffusion.Runtime;
using Diffusion.Schedulers;

namespace Diffusion.Pipelines;

/// <summary>
/// Generates images from text with a <see cref="ConditionalUNet"/>, a frozen <see cref="ITextEncoder"/> and any
/// <see cref="INoiseScheduler"/>, with classifier-free guidance (Ho &amp; Salimans, 2022).
/// </summary>
/// <remarks>
/// <para>At every step the model predicts the noise twice in one batched forward pass: conditioned on the prompt
/// (ε_c) and on the unconditional prompt (ε_u, the empty text "", or the negative prompt when one is given), the
/// two halves concatenated along the batch. The scheduler steps with ε_u + s·(ε_c − ε_u), s being the guidance
/// scale: s = 1 is the plain conditional prediction (and then the unconditional half is not computed at all),
/// s = 0 the unconditional one, s &gt; 1 pushes the samples towards the prompt.</para>
/// <para>Conventions are <see cref="DiffusionPipeline"/>'s: the starting noise is
/// <c>torch.randn([N, C, S, S], generator: CPU generator seeded with the seed)</c> (batches draw from one generator
/// in turn), the result is float32 in [0, 1] on the CPU, sampling runs under <c>no_grad</c> with a dispose scope per
/// step, a <see cref="SamplingProgress"/> after every step, cancellation between steps. The scheduler is stateful, so
/// calls from several threads take turns (one lock per pipeline), as <see cref="DiffusionPipeline"/>'s do.</para>
/// </remarks>
public sealed partial class TextToImagePipeline
{
    private readonly Lock gate = new();

    /// <summary>The guidance scale the <c>Generate</c> methods use unless told otherwise.</summary>
    public const double DefaultGuidanceScale = 2.0;

    /// <summary>Creates a pipeline.</summary>
    /// <param name="unet">The trained conditional U-Net; samples are <c>[InChannels, ImageSize, ImageSize]</c> from its options.</param>
    /// <param name="textEncoder">The text encoder the U-Net was trained with; required when the U-Net has cross-attention,
    /// null otherwise (a class-conditional model).</param>
    /// <param name="scheduler">The sampler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="unet"/> or <paramref name="scheduler"/> is null.</exception>
    /// <exception cref="ArgumentException">The text encoder is missing, superfluous, or its width is not the U-Net's ContextDim.</exception>
    public TextToImagePipeline(ConditionalUNet unet, ITextEncoder? textEncoder, INoiseScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(scheduler);
        TorchRuntime.EnsureAvailable();
        unet.Options.CheckTextEncoder(textEncoder, nameof(textEncoder));
        UNet = unet;
        TextEncoder = textEncoder;
        Scheduler = scheduler;
    }

    /// <summary>The denoiser.</summary>
    public ConditionalUNet UNet { get; }

    /// <summary>The text encoder, or null for a U-Net without cross-attention.</summary>
    public ITextEncoder? TextEncoder { get; }

    /// <summary>The scheduler this pipeline samples with.</summary>
    public INoiseScheduler Scheduler { get; }

    /// <summary>Channels of a sample.</summary>
    public int Channels => UNet.Options.UNet.InChannels;

    /// <summary>Side of a sample in pixels.</summary>
    public int ImageSize => UNet.Options.UNet.ImageSize;

    /// <summary>Generates <paramref name="count"/> images of one prompt.</summary>
    /// <param name="prompt">What to draw, e.g. "a red tulip"; "" draws unconditionally.</param>
    /// <param name="count">Number of images; at least 1.</param>
    /// <param name="inferenceSteps">Denoising steps (50 for DDIM, 20 for DPM-Solver++).</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s (finite): 1 = no guidance, 0 = unconditional.</param>
    /// <param name="seed">Seed of the noise; the same seed, prompts and batch size give the same images.</param>
    /// <param name="negativePrompt">Replaces "" as the unconditional text (what to steer away from); null keeps "".</param>
    /// <param name="batchSize">Images per model call (each costs two forward rows under guidance); null samples all at once.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images <c>[count, C, S, S]</c>, float32 in [0, 1], on the CPU; owned by the caller.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range.</exception>
    public Tensor Generate(string prompt, int count, int inferenceSteps = 50, double guidanceScale = DefaultGuidanceScale, long seed = 0,
        string? negativePrompt = null, int? batchSize = null, IProgress<SamplingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ValidateSampling(count, nameof(count), inferenceSteps, guidanceScale, batchSize);
        return Generate([prompt], count, inferenceSteps, guidanceScale, seed, negativePrompt, null, batchSize, progress, cancellationToken);
    }

    /// <summary>Generates <paramref name="imagesPerPrompt"/> images of each prompt, prompt by prompt (a grid with
    /// <paramref name="imagesPerPrompt"/> columns has one row per prompt).</summary>
    /// <param name="prompts">At least one prompt; "" draws unconditionally.</param>
    /// <param name="imagesPerPrompt">Images per prompt; at least 1.</param>
    /// <param name="inferenceSteps">Denoising steps.</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s (finite): 1 = no guidance, 0 = unconditional.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <param name="negativePrompt">Replaces "" as the unconditional text; null keeps "".</param>
    /// <param name="classLabels">For a U-Net with a class embedding: one label per prompt for the conditional branch (the
    /// unconditional branch uses the "no class" label); null uses "no class" in both.</param>
    /// <param name="batchSize">Images per model call; null samples all at once.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images <c>[prompts × imagesPerPrompt, C, S, S]</c>, float32 in [0, 1], on the CPU; owned by the caller.</returns>
    /// <exception cref="ArgumentException">A prompt is null, there are no prompts, or the class labels do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range.</exception>
    public Tensor Generate(IReadOnlyList<string> prompts, int imagesPerPrompt, int inferenceSteps = 50, double guidanceScale = DefaultGuidanceScale,
        long seed = 0, string? negativePrompt = null, IReadOnlyList<int>? classLabels = null, int? batchSize = null,
        IProgress<SamplingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("prompts must hold at least one prompt; got none.", nameof(prompts));
        }

        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null)
            {
                throw new ArgumentException($"prompts[{i}] is null.", nameof(prompts));
            }
        }

        if (TextEncoder is null)
        {
            throw new InvalidOperationException("this pipeline has no text encoder (the U-Net has no cross-attention): use GenerateForClasses.");
        }

        ValidateSampling(imagesPerPrompt, nameof(imagesPerPrompt), inferenceSteps, guidanceScale, batchSize);
        ValidateLabels(classLabels, prompts.Count, nameof(classLabels));
        return Sample(prompts, negativePrompt ?? string.Empty, classLabels, imagesPerPrompt, inferenceSteps, guidanceScale, seed, batchSize,
            progress, cancellationToken);
    }

    /// <summary>Generates <paramref name="imagesPerClass"/> images of each class label (a U-Net with a class embedding),
    /// class by class; a text-conditioned U-Net gets the empty prompt in both branches.</summary>
    /// <param name="classLabels">At least one label in [0, NumClasses] (NumClasses = no class).</param>
    /// <param name="imagesPerClass">Images per label; at least 1.</param>
    /// <param name="inferenceSteps">Denoising steps.</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s (finite): 1 = no guidance, 0 = unconditional.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <param name="batchSize">Images per model call; null samples all at once.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images <c>[labels × imagesPerClass, C, S, S]</c>, float32 in [0, 1], on the CPU; owned by the caller.</returns>
    /// <exception cref="InvalidOperationException">The U-Net has no class embedding.</exception>
    /// <exception cref="ArgumentException">The labels do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range.</exception>
    public Tensor GenerateForClasses(IReadOnlyList<int> classLabels, int imagesPerClass, int inferenceSteps = 50,
        double guidanceScale = DefaultGuidanceScale, long seed = 0, int? batchSize = null, IProgress<SamplingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(classLabels);
        if (UNet.Options.NumClasses is null)
        {
            throw new InvalidOperationException("the U-Net has no class embedding (NumClasses is null): use Generate with prompts.");
        }

        if (classLabels.Count == 0)
        {
            throw new ArgumentException("classLabels must hold at least one label; got none.", nameof(classLabels));
        }

        ValidateSampling(imagesPerClass, nameof(imagesPerClass), inferenceSteps, guidanceScale, batchSize);
        ValidateLabels(classLabels, classLabels.Count, nameof(classLabels));
        string[] prompts = [.. Enumerable.Repeat(string.Empty, classLabels.Count)];
        return Sample(prompts, string.Empty, classLabels, imagesPerClass, inferenceSteps, guidanceScale, seed, batchSize, progress, cancellationToken);
    }

    private void ValidateSampling(int count, string countName, int inferenceSteps, double guidanceScale, int? batchSize)
    {
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(countName, count, $"{countName} must be at least 1; got {count}.");
        }

        if (inferenceSteps < 1 || inferenceSteps > Scheduler.NumTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                $"inferenceSteps must lie in [1, {Scheduler.NumTrainTimesteps}] (the scheduler's training steps); got {inferenceSteps}.");
        }

        if (!double.IsFinite(guidanceScale))
        {
            throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, $"guidanceScale must be finite; got {guidanceScale}.");
        }

        if (batchSize is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize must be at least 1 or null; got {batchSize}.");
        }
    }

    private void ValidateLabels(IReadOnlyList<int>? classLabels, int expectedCount, string name)
    {
        if (classLabels is null)
        {
            return;
        }

        if (UNet.Options.NumClasses is not { } classes)
        {
            throw new ArgumentException($"{name} must be null: the U-Net has no class embedding (NumClasses is null).", name);
        }

        if (classLabels.Count != expectedCount)
        {
            throw new ArgumentException($"{name} must hold one label per prompt ({expectedCount}); got {classLabels.Count}.", name);
        }

        for (int i = 0; i < classLabels.Count; i++)
        {
            if (classLabels[i] < 0 || classLabels[i] > classes)
            {
                throw new ArgumentException($"{name}[{i}] must lie in [0, {classes}] ({classes} = no class); got {classLabels[i]}.", name);
            }
        }
    }
}
