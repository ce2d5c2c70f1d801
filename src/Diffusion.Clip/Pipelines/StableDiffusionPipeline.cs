using System.Globalization;
using Diffusion.Clip;
using Diffusion.Models;
using Diffusion.Runtime;
using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Pipelines;

/// <summary>
/// Stable Diffusion (Rombach et al., 2022): text-to-image and image-to-image in the latent space of an
/// <see cref="AutoencoderKL"/>, denoised by a <see cref="UNet2DConditionModel"/> attending to CLIP text embeddings, with
/// classifier-free guidance, as diffusers' <c>StableDiffusionPipeline</c> and <c>StableDiffusionImg2ImgPipeline</c> compute it.
/// </summary>
/// <remarks>
/// <para>Seeds: every random draw (the starting latents, the VAE posterior sample, the image-to-image noise, stochastic
/// scheduler steps) comes from one CPU generator seeded with the call's seed, in diffusers' order, so a seed gives the
/// same latents on the CPU and on a GPU, and the same as diffusers with <c>generator=torch.Generator().manual_seed(seed)</c>.</para>
/// <para>Guidance: with s &gt; 1 every step runs the U-Net once on <c>[unconditional; conditional]</c> (the negative prompt,
/// or "", and the prompt) and steps with ε_u + s·(ε_c − ε_u); with s ≤ 1 only the conditional half runs (diffusers' rule).</para>
/// <para>Thread safety: the scheduler is stateful, so calls on one pipeline run one at a time (a lock; a second caller
/// waits) and each returns what it would return alone. Sampling runs under <c>no_grad</c> with a dispose scope per step.</para>
/// <para>Ownership: a pipeline made with the constructor borrows its parts; one from <see cref="FromPretrained"/> owns what it
/// loaded (and a scheduler passed to it stays the caller's). <see cref="Dispose"/> releases what the pipeline owns.</para>
/// </remarks>
public sealed partial class StableDiffusionPipeline : IDisposable
{
    private readonly Lock gate = new();
    private readonly ILogger logger;
    private readonly IDisposable[] owned;
    private bool disposed;

    /// <summary>Creates a pipeline from its parts; the pipeline borrows them (disposing it disposes none).</summary>
    /// <param name="unet">The denoiser; its <c>cross_attention_dim</c> must equal the text encoder's width and its <c>in_channels</c> the VAE's <c>latent_channels</c>.</param>
    /// <param name="vae">The autoencoder between pixels and latents.</param>
    /// <param name="textEncoder">The CLIP text encoder and tokenizer (<see cref="ClipTextEncoder(ClipTextModel, ClipTokenizer)"/>).</param>
    /// <param name="scheduler">The sampler (any <see cref="INoiseScheduler"/>; Stable Diffusion was trained with 1,000 scaled-linear steps).</param>
    /// <param name="loggerFactory">Receives the prompt-truncation warnings; null means none.</param>
    /// <exception cref="ArgumentNullException">A part is null.</exception>
    /// <exception cref="ArgumentException">The parts do not fit together; the message names both sizes.</exception>
    public StableDiffusionPipeline(UNet2DConditionModel unet, AutoencoderKL vae, ClipTextEncoder textEncoder, INoiseScheduler scheduler,
        ILoggerFactory? loggerFactory = null)
        : this(unet, vae, textEncoder, scheduler, loggerFactory, [])
    {
    }

    private StableDiffusionPipeline(UNet2DConditionModel unet, AutoencoderKL vae, ClipTextEncoder textEncoder, INoiseScheduler scheduler,
        ILoggerFactory? loggerFactory, IDisposable[] owned)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(vae);
        ArgumentNullException.ThrowIfNull(textEncoder);
        ArgumentNullException.ThrowIfNull(scheduler);
        TorchRuntime.EnsureAvailable();
        if (FitProblem(unet.Config, vae.Config, textEncoder.EmbeddingDim) is { } problem)
        {
            throw new ArgumentException(problem, nameof(unet));
        }

        UNet = unet;
        Vae = vae;
        TextEncoder = textEncoder;
        Scheduler = scheduler;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<StableDiffusionPipeline>();
        this.owned = owned;
    }

    /// <summary>The denoiser.</summary>
    public UNet2DConditionModel UNet { get; }

    /// <summary>The autoencoder.</summary>
    public AutoencoderKL Vae { get; }

    /// <summary>The text encoder (with its tokenizer).</summary>
    public ClipTextEncoder TextEncoder { get; }

    /// <summary>The sampler. Do not use it elsewhere while a call runs.</summary>
    public INoiseScheduler Scheduler { get; }

    /// <summary>Pixels per latent along each side: 2^(levels of the VAE − 1), 8 for Stable Diffusion. Widths and heights are multiples of it.</summary>
    public int LatentFactor => Vae.DownscaleFactor;

    /// <summary>The width and height <see cref="Generate"/> uses when none is given: the U-Net's <c>sample_size</c> × <see cref="LatentFactor"/>
    /// (512 for SD 1.5 and SD 2.1 base), or 512 when the config has no <c>sample_size</c>.</summary>
    public int DefaultImageSize => UNet.Config.SampleSize is { } s ? s * LatentFactor : 512;

    /// <summary>
    /// Draws images of <paramref name="prompt"/> (diffusers' <c>StableDiffusionPipeline.__call__</c>): latents
    /// <c>randn([count, 4, height/8, width/8])</c> × σ_init from the seeded CPU generator, <paramref name="steps"/> scheduler
    /// steps with classifier-free guidance, then <c>vae.Decode(latents / scaling_factor)</c> mapped from [−1, 1] to [0, 1].
    /// </summary>
    /// <param name="prompt">What to draw. Prompts longer than the tokenizer's 77 tokens are truncated, with a warning logged.</param>
    /// <param name="negativePrompt">What to steer away from (the unconditional branch); null uses "".</param>
    /// <param name="width">Image width in pixels, a multiple of <see cref="LatentFactor"/>; null uses <see cref="DefaultImageSize"/>.</param>
    /// <param name="height">Image height in pixels, a multiple of <see cref="LatentFactor"/>; null uses <see cref="DefaultImageSize"/>.</param>
    /// <param name="steps">Denoising steps, in [1, the scheduler's training steps].</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s (finite); guidance runs when s &gt; 1.</param>
    /// <param name="seed">Seed of the CPU generator.</param>
    /// <param name="count">Images to draw, all in one batch; at least 1.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images <c>[count, 3, height, width]</c>, float32 in [0, 1], on the CPU; the caller owns them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range (checked before any model runs).</exception>
    /// <exception cref="ObjectDisposedException">The pipeline has been disposed.</exception>
    public Tensor Generate(string prompt, string? negativePrompt = null, int? width = null, int? height = null, int steps = 50,
        double guidanceScale = 7.5, long seed = 0, int count = 1, IProgress<SamplingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(prompt);
        int w = width ?? DefaultImageSize, h = height ?? DefaultImageSize;
        CheckSide(w, nameof(width));
        CheckSide(h, nameof(height));
        CheckSampling(steps, guidanceScale);
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be at least 1; got {count}.");
        }

        using var noGrad = no_grad();
        lock (gate) // the scheduler's timesteps and history belong to one call at a time
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            using var scope = NewDisposeScope();
            return DecodeToImages(TextToImageLatents(prompt, negativePrompt, w, h, steps, guidanceScale, seed, count, progress, cancellationToken))
                .MoveToOuterDisposeScope();
        }
    }

    /// <summary>The final latents of <see cref="Generate"/> (same arguments, already validated), float32 on the CPU, before decoding; for tests.</summary>
    internal Tensor GenerateLatents(string prompt, string? negativePrompt, int width, int height, int steps, double guidanceScale, long seed, int count)
    {
        using var noGrad = no_grad();
        lock (gate)
        {
            using var scope = NewDisposeScope();
            return TextToImageLatents(prompt, negativePrompt, width, height, steps, guidanceScale, seed, count, null, default).cpu().MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Redraws <paramref name="image"/> towards <paramref name="prompt"/> (diffusers' <c>StableDiffusionImg2ImgPipeline.__call__</c>):
    /// the image, mapped to [−1, 1], is encoded; its latent is scaling_factor × a posterior sample, noised with
    /// <see cref="INoiseScheduler.AddNoise"/> to the first timestep <see cref="ImageToImageTimesteps.ForStrength"/> keeps, and
    /// denoised from there with guidance; then decoded as in <see cref="Generate"/>.
    /// </summary>
    /// <param name="image">The start, <c>[3, H, W]</c> or <c>[N, 3, H, W]</c>, float in [0, 1], H and W multiples of <see cref="LatentFactor"/>; one result per image.</param>
    /// <param name="prompt">What to draw (truncated to 77 tokens with a warning).</param>
    /// <param name="strength">How much to change, in (0, 1]: 1 ignores the image's content, small values keep it; <c>steps × strength</c> steps run.</param>
    /// <param name="negativePrompt">What to steer away from; null uses "".</param>
    /// <param name="steps">Steps a full run would take, in [1, the scheduler's training steps].</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s (finite); guidance runs when s &gt; 1.</param>
    /// <param name="seed">Seed of the CPU generator (posterior sample first, then the noise).</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Stops between steps with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Images <c>[N, 3, H, W]</c>, float32 in [0, 1], on the CPU; the caller owns them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> or <paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentException">The image's shape, dtype or values are not as described.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A number is out of range, or <c>steps × strength</c> is below 1 (checked before any model runs).</exception>
    /// <exception cref="ObjectDisposedException">The pipeline has been disposed.</exception>
    public Tensor ImageToImage(Tensor image, string prompt, double strength = 0.8, string? negativePrompt = null, int steps = 50,
        double guidanceScale = 7.5, long seed = 0, IProgress<SamplingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(prompt);
        if (!(strength > 0 && strength <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(strength), strength,
                string.Create(CultureInfo.InvariantCulture, $"strength must lie in (0, 1]; got {strength:R}."));
        }

        CheckSampling(steps, guidanceScale);
        CheckImage(image);
        using var noGrad = no_grad();
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            using var scope = NewDisposeScope();
            return DecodeToImages(ImageToImageLatents(image, prompt, strength, negativePrompt, steps, guidanceScale, seed, progress, cancellationToken))
                .MoveToOuterDisposeScope();
        }
    }

    /// <summary>The final latents of <see cref="ImageToImage"/> (same arguments, already validated), float32 on the CPU, before decoding; for tests.</summary>
    internal Tensor ImageToImageLatents(Tensor image, string prompt, double strength, string? negativePrompt, int steps, double guidanceScale, long seed)
    {
        using var noGrad = no_grad();
        lock (gate)
        {
            using var scope = NewDisposeScope();
            return ImageToImageLatents(image, prompt, strength, negativePrompt, steps, guidanceScale, seed, null, default).cpu().MoveToOuterDisposeScope();
        }
    }

    /// <summary>Disposes what the pipeline owns: for one from <see cref="FromPretrained"/>, the models, the tokenizer's encoder and the
    /// scheduler it read (not a scheduler passed in); for one made with the constructor, nothing.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            foreach (IDisposable part in owned)
            {
                part.Dispose();
            }
        }
    }

    // StableDiffusionPipeline.__call__ up to the decode: prompt embeddings, x_T, the loop. Returns latents on the U-Net's device.
    private Tensor TextToImageLatents(string prompt, string? negativePrompt, int width, int height, int steps, double guidanceScale, long seed,
        int count, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed, CPU);
        Tensor embeddings = EncodePrompt(prompt, negativePrompt, count, guidanceScale);              // [(2·)count, L, D]
        Scheduler.SetTimesteps(steps);
        long[] shape = [count, UNet.Config.InChannels, height / LatentFactor, width / LatentFactor];
        Tensor start = DenoisingLoop.InitialNoise(Scheduler, shape, generator).to(UNet.Device);     // x_T
        return DenoisingLoop.Denoise(Scheduler, start, Scheduler.Timesteps, generator, UNet.DType,
            Predictor(embeddings, guidanceScale), 0, 1, progress, cancellationToken).MoveToOuterDisposeScope();
    }

    // StableDiffusionImg2ImgPipeline.__call__ up to the decode: get_timesteps, encode_prompt, prepare_latents, the loop.
    private Tensor ImageToImageLatents(Tensor image, string prompt, double strength, string? negativePrompt, int steps, double guidanceScale,
        long seed, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        Tensor timesteps = ImageToImageTimesteps.ForStrength(Scheduler, steps, strength);              // throws before any model runs
        Tensor pixels = (image.dim() == 3 ? image.unsqueeze(0) : image).to(float32);                    // [N, 3, H, W]
        long n = pixels.shape[0];
        using var generator = new Generator((ulong)seed, CPU);
        Tensor embeddings = EncodePrompt(prompt, negativePrompt, (int)n, guidanceScale);
        using DiagonalGaussianDistribution posterior = Vae.Encode(((pixels * 2) - 1).to(Vae.DType).to(Vae.Device)); // [0, 1] → [−1, 1]
        Tensor initial = (posterior.Sample(generator).to(float32) * Vae.ScalingFactor).cpu();        // z_0: the generator's first draw
        Tensor noise = randn(initial.shape, generator: generator);                                      // its second
        Tensor start = Scheduler.AddNoise(initial, noise, timesteps.narrow(0, 0, 1).repeat(n)).to(UNet.Device); // z_t at the first kept step
        return DenoisingLoop.Denoise(Scheduler, start, timesteps, generator, UNet.DType,
            Predictor(embeddings, guidanceScale), 0, 1, progress, cancellationToken).MoveToOuterDisposeScope();
    }

    private static string? FitProblem(UNet2DConditionModelConfig unet, AutoencoderKLConfig vae, int textWidth)
    {
        if (unet.InChannels != vae.LatentChannels)
        {
            return $"the U-Net's in_channels ({unet.InChannels}) must equal the VAE's latent_channels ({vae.LatentChannels}).";
        }

        if (unet.CrossAttentionDim.Any(d => d != textWidth))
        {
            return $"the U-Net's cross_attention_dim ({string.Join(", ", unet.CrossAttentionDim)}) must equal the text encoder's hidden_size ({textWidth}).";
        }

        return null;
    }

    private Func<Tensor, Tensor, Tensor> Predictor(Tensor embeddings, double guidanceScale) =>
        guidanceScale > 1
            ? (input, t) => DenoisingLoop.Guided(input, guidanceScale, both => UNet.call(both, t, embeddings))
            : (input, t) => UNet.call(input, t, embeddings);

    // encode_prompt: the prompt's embeddings once per image, and under guidance the negative prompt's (or ""'s) first.
    private Tensor EncodePrompt(string prompt, string? negativePrompt, int count, double guidanceScale)
    {
        using var scope = NewDisposeScope();
        WarnIfTruncated(prompt, "positive");
        Tensor embeddings = TextEncoder.Encode([prompt]).repeat(count, 1, 1);                       // [count, L, D]
        if (guidanceScale > 1)
        {
            string unconditional = negativePrompt ?? string.Empty;
            WarnIfTruncated(unconditional, "negative");
            embeddings = cat([TextEncoder.Encode([unconditional]).repeat(count, 1, 1), embeddings], 0); // [2·count, L, D]: (uncond, cond)
        }

        return embeddings.to(UNet.DType).to(UNet.Device).MoveToOuterDisposeScope();
    }

    private void WarnIfTruncated(string text, string which)
    {
        ClipTokenizer tokenizer = TextEncoder.Tokenizer;
        IReadOnlyList<int> ids = tokenizer.Encode(text);
        if (ids.Count > tokenizer.ContextLength)
        {
            Diffusion.Clip.Log.PromptTruncated(logger, which, ids.Count, tokenizer.ContextLength, tokenizer.Decode(ids.Take(tokenizer.ContextLength - 1)));
        }
    }

    private Tensor DecodeToImages(Tensor latents)
    {
        using var scope = NewDisposeScope();
        Tensor decoded = Vae.Decode((latents / Vae.ScalingFactor).to(Vae.DType).to(Vae.Device));
        return DenoisingLoop.ToUnitRange(decoded).MoveToOuterDisposeScope();
    }

    private void CheckSide(int value, string name)
    {
        if (value < LatentFactor || value % LatentFactor != 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive multiple of {LatentFactor} (the VAE's factor); got {value}.");
        }
    }

    private void CheckSampling(int steps, double guidanceScale)
    {
        if (steps < 1 || steps > Scheduler.NumTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps,
                $"steps must lie in [1, {Scheduler.NumTrainTimesteps}] (the scheduler's training steps); got {steps}.");
        }

        if (!double.IsFinite(guidanceScale))
        {
            throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, $"guidanceScale must be finite; got {guidanceScale}.");
        }
    }

    private void CheckImage(Tensor image)
    {
        long[] s = image.shape;
        bool shapeOk = (s.Length == 3 && s[0] == 3) || (s.Length == 4 && s[0] >= 1 && s[1] == 3);
        if (!shapeOk || !image.is_floating_point())
        {
            throw new ArgumentException($"image must be a float tensor [3,H,W] or [N,3,H,W]; got [{string.Join(',', s)}] {image.dtype}.", nameof(image));
        }

        long h = s[^2], w = s[^1];
        if (h < LatentFactor || w < LatentFactor || h % LatentFactor != 0 || w % LatentFactor != 0)
        {
            throw new ArgumentException($"image height and width must be positive multiples of {LatentFactor} (the VAE's factor); got {h}×{w}.", nameof(image));
        }

        using var scope = NewDisposeScope();
        double min = image.min().to(float64).item<double>(), max = image.max().to(float64).item<double>();
        if (!(min >= 0 && max <= 1))
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"image must hold values in [0, 1]; got values from {min:G6} to {max:G6}."), nameof(image));
        }
    }
}
