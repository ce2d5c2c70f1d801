namespace Diffusion.Data;

/// <summary>
/// A small, fast pseudo-random generator whose sequence is fixed forever: SplitMix64 (Steele, Lea and
/// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
/// </summary>
/// <remarks>
/// <para>
/// The datasets and the loader use it instead of <see cref="Random"/>, whose algorithm .NET may change
/// between versions: the same keys give the same numbers on every machine, runtime and version, so a
/// seed names one data stream for good. Streams are derived from several keys with
/// <see cref="FromKeys(ReadOnlySpan{long})"/>, e.g. (seed, epoch, item index), which is how random
/// access and exact resume work: an item's randomness never depends on what was drawn before it.
/// </para>
/// <para>An instance is not thread-safe; give each item (or thread) its own.</para>
/// </remarks>
public sealed class DeterministicRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private ulong state;

    /// <summary>Starts a stream from a 64-bit seed.</summary>
    /// <param name="seed">Any value; equal seeds give equal streams.</param>
    public DeterministicRandom(ulong seed)
    {
        state = seed;
    }

    /// <summary>Starts a stream named by several keys, e.g. <c>FromKeys(seed, epoch, index)</c>.</summary>
    /// <param name="keys">The keys, in order; (1, 2) and (2, 1) give different streams.</param>
    /// <returns>A new generator.</returns>
    public static DeterministicRandom FromKeys(params ReadOnlySpan<long> keys) => new(Hash(keys));

    /// <summary>Hashes keys into one 64-bit value (SplitMix64's finaliser applied after each key).</summary>
    /// <param name="keys">The keys, in order.</param>
    /// <returns>The hash.</returns>
    public static ulong Hash(params ReadOnlySpan<long> keys)
    {
        ulong h = Golden ^ (ulong)keys.Length;
        foreach (long key in keys)
        {
            h = Mix(h + Golden + (ulong)key);
        }

        return h;
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>A uniformly distributed 64-bit value.</returns>
    public ulong NextUInt64()
    {
        state += Golden;
        return Mix(state);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    /// <returns>The value.</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound.</param>
    /// <returns>The value.</returns>
    public double NextDouble(double min, double max) => min + ((max - min) * NextDouble());

    /// <summary>A uniform float in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound.</param>
    /// <returns>The value (computed in double, then rounded once).</returns>
    public float NextSingle(float min, float max) => (float)NextDouble(min, max);

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    /// <param name="maxExclusive">The bound; at least 1.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is less than 1.</exception>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"maxExclusive must be at least 1; got {maxExclusive}.");
        }

        // Lemire's multiply-shift: the high 64 bits of a 64×64 product; the bias is below 2^-32.
        return (int)Math.BigMul(NextUInt64(), (ulong)maxExclusive, out _);
    }

    /// <summary>A uniform integer in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="maxExclusive">Exclusive upper bound; greater than <paramref name="min"/>.</param>
    /// <returns>The value.</returns>
    public int NextInt(int min, int maxExclusive)
    {
        if (maxExclusive <= min)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"maxExclusive must be greater than min ({min}); got {maxExclusive}.");
        }

        ulong range = (ulong)((long)maxExclusive - min);
        return (int)(min + (long)Math.BigMul(NextUInt64(), range, out _));
    }

    /// <summary>True with probability <paramref name="probability"/>; always draws exactly one number.</summary>
    /// <param name="probability">In [0, 1].</param>
    /// <returns>The outcome.</returns>
    public bool NextBool(double probability = 0.5) => NextDouble() < probability;

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates, from the last element down).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="items">The items.</param>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
