using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Schedulers;

namespace Diffusion.Training;

/// <summary>
/// Trains a <see cref="ConditionalUNet"/> on captioned (and labelled) images with the ordinary <see cref="Trainer"/>:
/// <see cref="Predict"/> is the trainer's predict delegate. It encodes each item's caption with a frozen
/// <see cref="ITextEncoder"/>, passes the item's class label when the U-Net has a class embedding, and drops the
/// condition of a fraction of the items (empty caption, "no class" label) so that the one model learns the
/// conditional and the unconditional predictions classifier-free guidance combines.
/// </summary>
/// <remarks>
/// <para>Only the U-Net trains: pass it as the trainer's model (<see cref="CreateTrainer"/> does), so its
/// <c>state_dict()</c> is what checkpoints hold; the text encoder is not part of it and gets no gradients.</para>
/// <para>Whether item k of batch b in epoch e is dropped is a function of (<see cref="ConditioningOptions.Seed"/>, e, b, k)
/// only (<see cref="IsDropped"/>), never of a running random state, so a run resumed from a checkpoint makes the same
/// decisions as one that never stopped. Items without a caption are trained unconditionally.</para>
/// <para>Caption embeddings are cached (the encoder is frozen; a caption always gives the same embeddings): the
/// flower captions are 37 texts, so after the first batches no step runs the text encoder. Dispose the denoiser to
/// free the cache. Not thread-safe: one trainer at a time.</para>
/// </remarks>
public sealed class TextConditionedDenoiser : IDisposable
{
    private const long DropoutTag = 0x636F6E6464726F70; // "conddrop"
    private readonly Dictionary<string, Tensor> cache = new(StringComparer.Ordinal);
    private bool disposed;

    /// <summary>Creates the conditioning for <paramref name="unet"/>.</summary>
    /// <param name="unet">The U-Net to train.</param>
    /// <param name="textEncoder">The frozen text encoder; required when the U-Net has cross-attention, null otherwise.</param>
    /// <param name="options">Dropout, seed and cache size; null takes the defaults.</param>
    /// <exception cref="ArgumentException">The options are invalid, or the encoder does not fit the U-Net.</exception>
    public TextConditionedDenoiser(ConditionalUNet unet, ITextEncoder? textEncoder, ConditioningOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(unet);
        Options = options ?? new ConditioningOptions();
        Options.Validate();
        unet.Options.CheckTextEncoder(textEncoder, nameof(textEncoder));
        UNet = unet;
        TextEncoder = textEncoder;
    }

    /// <summary>The U-Net being trained.</summary>
    public ConditionalUNet UNet { get; }

    /// <summary>The frozen text encoder, or null for a class-conditional U-Net.</summary>
    public ITextEncoder? TextEncoder { get; }

    /// <summary>Dropout, seed and cache size.</summary>
    public ConditioningOptions Options { get; }

    /// <summary>Number of captions whose embeddings are cached.</summary>
    public int CachedCaptions => cache.Count;

    /// <summary>Creates a <see cref="Trainer"/> that trains <see cref="UNet"/> with <see cref="Predict"/>.</summary>
    /// <param name="scheduler">The noise scheduler.</param>
    /// <param name="options">Trainer options; null takes the defaults.</param>
    /// <returns>The trainer; this denoiser must outlive its <c>Fit</c> calls.</returns>
    public Trainer CreateTrainer(INoiseScheduler scheduler, TrainerOptions? options = null) => new(UNet, Predict, scheduler, options);

    /// <summary>Whether item <paramref name="position"/> of batch <paramref name="batchIndex"/> in <paramref name="epoch"/> is trained unconditionally.</summary>
    /// <param name="epoch">The batch's epoch (<see cref="ImageBatch.Epoch"/>).</param>
    /// <param name="batchIndex">The batch's position in its epoch (<see cref="ImageBatch.Index"/>).</param>
    /// <param name="position">The item's position in the batch.</param>
    /// <returns>True with probability <see cref="ConditioningOptions.ConditionDropout"/>, the same every time for the same arguments.</returns>
    public bool IsDropped(int epoch, int batchIndex, int position)
    {
        double p = Options.ConditionDropout;
        return p > 0 && DeterministicRandom.FromKeys(DropoutTag, Options.Seed, epoch, batchIndex, position).NextDouble() < p;
    }

    /// <summary>The trainer's predict delegate: the U-Net's noise prediction for a batch, conditioned on its captions and labels.</summary>
    /// <param name="noisy">Noisy images <c>[B, C, S, S]</c> on the U-Net's device.</param>
    /// <param name="timesteps">Timesteps <c>[B]</c>.</param>
    /// <param name="batch">The batch the images came from (captions, labels, epoch and index).</param>
    /// <returns>The prediction <c>[B, C, S, S]</c>; the caller (the trainer's step scope) owns it.</returns>
    /// <exception cref="ArgumentException">The batch does not match the images, or a class-conditional U-Net gets a batch without labels.</exception>
    public Tensor Predict(Tensor noisy, Tensor timesteps, ImageBatch batch)
    {
        ArgumentNullException.ThrowIfNull(noisy);
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (noisy.dim() < 1 || noisy.shape[0] != batch.Count)
        {
            throw new ArgumentException($"noisy must hold one image per batch item ({batch.Count}); got [{string.Join(",", noisy.shape)}].", nameof(noisy));
        }

        bool[] dropped = [.. Enumerable.Range(0, batch.Count).Select(k => IsDropped(batch.Epoch, batch.Index, k))];
        using var scope = NewDisposeScope();
        Tensor? context = null;
        if (TextEncoder is not null)
        {
            string[] texts = [.. batch.Captions.Select((caption, k) => dropped[k] || caption is null ? string.Empty : caption)];
            context = Contexts(texts);                                                        // [B, L, D]
        }

        Tensor? labels = null;
        if (UNet.Options.NullClassLabel is { } noClass)
        {
            Tensor given = batch.Labels ?? throw new ArgumentException(
                "batch.Labels is null, but the U-Net is class-conditional (NumClasses is set): the dataset must label every item.", nameof(batch));
            Tensor mask = tensor(dropped);                                                    // [B] bool
            labels = where(mask, full_like(given, noClass), given).to(int64);                 // dropped → "no class"
        }

        return UNet.call(noisy, timesteps, context, labels).MoveToOuterDisposeScope();
    }

    /// <summary>Text embeddings <c>[texts.Count, L, D]</c> from the cache, encoding (in one call) the texts not yet in it.</summary>
    internal Tensor Contexts(IReadOnlyList<string> texts)
    {
        ITextEncoder encoder = TextEncoder ?? throw new InvalidOperationException("the U-Net has no text conditioning.");
        using var scope = NewDisposeScope();
        var fresh = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        string[] missing = [.. texts.Where(t => !cache.ContainsKey(t)).Distinct(StringComparer.Ordinal)];
        if (missing.Length > 0)
        {
            Tensor encoded = encoder.Encode(missing);                                         // [m, L, D]
            for (int j = 0; j < missing.Length; j++)
            {
                if (cache.Count < Options.MaxCachedCaptions)
                {
                    cache[missing[j]] = encoded[j].clone().DetachFromDisposeScope();          // [L, D], kept until Dispose
                }
                else
                {
                    fresh[missing[j]] = encoded[j];
                }
            }
        }

        return stack([.. texts.Select(t => cache.TryGetValue(t, out Tensor? e) ? e : fresh[t])]).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the cached embeddings.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (Tensor t in cache.Values)
        {
            t.Dispose();
        }

        cache.Clear();
    }
}
