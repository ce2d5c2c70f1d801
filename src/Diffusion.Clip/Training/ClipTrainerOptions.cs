namespace Diffusion.Clip;

/// <summary>Settings of <see cref="ClipTrainer"/>. Defaults follow CLIP's paper (AdamW β₂ 0.98, ε 1e-6, weight decay 0.2) scaled to small runs.</summary>
public sealed record ClipTrainerOptions
{
    /// <summary>Optimizer steps the cosine schedule spans (and the most this call runs).</summary>
    /// <value>The default value is 1000.</value>
    public int Steps { get; init; } = 1000;

    /// <summary>Image–caption pairs per step; every other pair of the batch is a negative. Capped at the dataset's size.</summary>
    /// <value>The default value is 64.</value>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak learning rate (AdamW), reached after <see cref="WarmupSteps"/>.</summary>
    /// <value>The default value is 5e-4.</value>
    public double LearningRate { get; init; } = 5e-4;

    /// <summary>Steps of linear warm-up before the cosine decay.</summary>
    /// <value>The default value is 50.</value>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>Decoupled weight decay, applied to weight matrices only (not to biases, norms, embeddings vectors or <c>logit_scale</c>, as open_clip).</summary>
    /// <value>The default value is 0.2.</value>
    public double WeightDecay { get; init; } = 0.2;

    /// <summary>AdamW β₁.</summary>
    /// <value>The default value is 0.9.</value>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β₂.</summary>
    /// <value>The default value is 0.98.</value>
    public double Beta2 { get; init; } = 0.98;

    /// <summary>AdamW ε.</summary>
    /// <value>The default value is 1e-6.</value>
    public double Epsilon { get; init; } = 1e-6;

    /// <summary>Largest gradient L2 norm, or null for no clipping.</summary>
    /// <value>The default value is 1.0.</value>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>The objective.</summary>
    /// <value>The default value is <see cref="ClipLossKind.Clip"/>.</value>
    public ClipLossKind Loss { get; init; } = ClipLossKind.Clip;

    /// <summary>Flip each training image left–right with probability ½ (only where that keeps captions true).</summary>
    /// <value>The default value is false.</value>
    public bool RandomHorizontalFlip { get; init; }

    /// <summary>Seed of the batch order and the flips; batches depend only on (seed, step), so a resumed run sees the same data.</summary>
    /// <value>The default value is 0.</value>
    public int Seed { get; init; }

    /// <summary>Stop after this much wall-clock time even if <see cref="Steps"/> are not done, or null for no limit.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>Folder for checkpoints (<c>checkpoint-000100/</c>: a Hugging Face model folder plus <c>trainer_state.json</c>), or null for none.</summary>
    /// <value>The default value is null.</value>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Write a checkpoint every this many steps (0: only at the end and on cancellation).</summary>
    /// <value>The default value is 0.</value>
    public int CheckpointEvery { get; init; }

    /// <summary>A checkpoint folder to resume from: its weights and AdamW state are loaded and training continues at its step, as if never interrupted.</summary>
    /// <value>The default value is null.</value>
    public string? ResumeFrom { get; init; }

    /// <summary>Log every this many steps.</summary>
    /// <value>The default value is 10.</value>
    public int LogEvery { get; init; } = 10;

    /// <summary>Checks every rule.</summary>
    /// <exception cref="ArgumentException">A rule is broken; the message lists them all.</exception>
    public void Validate()
    {
        var violations = new List<string>();
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                violations.Add(message);
            }
        }

        Require(Steps > 0, $"Steps must be positive; got {Steps}");
        Require(BatchSize >= 2, $"BatchSize must be at least 2 (a contrastive batch needs negatives); got {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"LearningRate must be positive; got {LearningRate}");
        Require(WarmupSteps >= 0, $"WarmupSteps must be 0 or more; got {WarmupSteps}");
        Require(WeightDecay >= 0, $"WeightDecay must be 0 or more; got {WeightDecay}");
        Require(Beta1 is >= 0 and < 1, $"Beta1 must be in [0, 1); got {Beta1}");
        Require(Beta2 is >= 0 and < 1, $"Beta2 must be in [0, 1); got {Beta2}");
        Require(Epsilon > 0, $"Epsilon must be positive; got {Epsilon}");
        Require(MaxGradNorm is null or > 0, $"MaxGradNorm must be positive or null; got {MaxGradNorm}");
        Require(MaxDuration is null || MaxDuration > TimeSpan.Zero, $"MaxDuration must be positive or null; got {MaxDuration}");
        Require(CheckpointEvery >= 0, $"CheckpointEvery must be 0 or more; got {CheckpointEvery}");
        Require(LogEvery > 0, $"LogEvery must be positive; got {LogEvery}");
        if (violations.Count > 0)
        {
            throw new ArgumentException("Invalid CLIP trainer options: " + string.Join("; ", violations) + ".");
        }
    }
}
