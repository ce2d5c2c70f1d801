namespace Diffusion.Pipelines;

/// <summary>The sampling loop and classifier-free guidance of <see cref="TextToImagePipeline"/>.</summary>
public sealed partial class TextToImagePipeline
{
    /// <summary>
    /// The guided noise prediction of one step: ε_u + s·(ε_c − ε_u) from one forward pass over the batch
    /// <c>[unconditional; conditional]</c>, or the plain conditional prediction when s = 1.
    /// </summary>
    /// <param name="input">The scaled model input <c>[n, C, S, S]</c> on the model's device and dtype.</param>
    /// <param name="timestep">The step's timestep (one value).</param>
    /// <param name="context">Conditional text embeddings <c>[n, L, D]</c>, or null for a model without cross-attention.</param>
    /// <param name="unconditionalContext">Unconditional embeddings <c>[1, L, D]</c> (the empty or negative prompt); needed when s ≠ 1 and <paramref name="context"/> is set.</param>
    /// <param name="classLabels">Conditional class labels <c>[n]</c>, or null for "no class".</param>
    /// <param name="guidanceScale">s.</param>
    /// <returns>The guided prediction <c>[n, C, S, S]</c>; the caller (or its dispose scope) owns it.</returns>
    internal Tensor GuidedNoise(Tensor input, Tensor timestep, Tensor? context, Tensor? unconditionalContext, Tensor? classLabels, double guidanceScale)
    {
        if (guidanceScale == 1)
        {
            return UNet.call(input, timestep, context, classLabels);
        }

        long n = input.shape[0];
        return DenoisingLoop.Guided(input, guidanceScale, both =>
        {
            Tensor? contexts = context is null
                ? null
                : cat([(unconditionalContext ?? throw new ArgumentNullException(nameof(unconditionalContext))).expand(n, -1, -1), context], 0); // [2n, L, D]
            Tensor? labels = classLabels is null
                ? null
                : cat([full(n, UNet.Options.NullClassLabel!.Value, dtype: int64, device: classLabels.device), classLabels], 0); // [2n]
            return UNet.call(both, timestep, contexts, labels);                                    // [2n, C, S, S]: (uncond, cond)
        });
    }

    private Tensor Sample(IReadOnlyList<string> prompts, string unconditionalPrompt, IReadOnlyList<int>? labels, int perPrompt, int steps,
        double guidanceScale, long seed, int? batchSize, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        lock (gate) // the scheduler's timesteps and history belong to one sampling loop at a time
        {
            return SampleUnlocked(prompts, unconditionalPrompt, labels, perPrompt, steps, guidanceScale, seed, batchSize, progress, cancellationToken);
        }
    }

    private Tensor SampleUnlocked(IReadOnlyList<string> prompts, string unconditionalPrompt, IReadOnlyList<int>? labels, int perPrompt, int steps,
        double guidanceScale, long seed, int? batchSize, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        int total = prompts.Count * perPrompt;
        Device device = UNet.Device;
        using var generator = new Generator((ulong)seed, CPU);
        using var noGrad = no_grad();
        using var outer = NewDisposeScope();
        Tensor? promptContexts = TextEncoder?.Encode(prompts).to(device);                          // [P, L, D]
        Tensor? unconditionalContext = TextEncoder is null || guidanceScale == 1
            ? null
            : TextEncoder.Encode([unconditionalPrompt]).to(device);                                // [1, L, D]
        Tensor? promptLabels = labels is null ? null : tensor(labels.Select(l => (long)l).ToArray(), dtype: int64).to(device); // [P]
        var outputs = new List<Tensor>();
        foreach ((int start, int n, int b, int batches) in DenoisingLoop.Batches(total, batchSize))
        {
            Tensor rows = tensor(Enumerable.Range(start, n).Select(i => (long)(i / perPrompt)).ToArray(), dtype: int64).to(device); // prompt of each image
            outputs.Add(SampleBatch(n, steps, guidanceScale, generator, promptContexts?.index_select(0, rows), unconditionalContext,
                promptLabels?.index_select(0, rows), b, batches, progress, cancellationToken));
        }

        return (outputs.Count == 1 ? outputs[0] : cat(outputs, 0)).MoveToOuterDisposeScope();
    }

    private Tensor SampleBatch(int n, int steps, double guidanceScale, Generator generator, Tensor? context, Tensor? unconditionalContext,
        Tensor? classLabels, int batch, int batches, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken) =>
        DenoisingLoop.Run(Scheduler, [n, Channels, ImageSize, ImageSize], steps, generator, UNet.Device, UNet.DType,
            (input, t) => GuidedNoise(input, t, context, unconditionalContext, classLabels, guidanceScale), batch, batches, progress, cancellationToken);
}
