using Microsoft.Extensions.Logging;

namespace Diffusion.Data;

/// <summary>
/// The encoded images of parquet row groups, read on first use and kept up to a byte budget (least
/// recently used dropped first). Thread-safe; each row group is read once however many threads ask.
/// </summary>
internal sealed class RowGroupCache
{
    private readonly Func<int, RowGroupImages> read;
    private readonly long budget;
    private readonly ILogger logger;
    private readonly object gate = new();
    private readonly Dictionary<int, LinkedListNode<Entry>> entries = [];
    private readonly LinkedList<Entry> recency = new();
    private long cachedBytes;

    public RowGroupCache(Func<int, RowGroupImages> read, long budget, ILogger logger)
    {
        this.read = read;
        this.budget = budget;
        this.logger = logger;
    }

    /// <summary>The images of global row group <paramref name="group"/>, reading it if needed.</summary>
    public RowGroupImages Get(int group)
    {
        LinkedListNode<Entry>? node;
        lock (gate)
        {
            if (entries.TryGetValue(group, out node))
            {
                recency.Remove(node);
                recency.AddFirst(node);
            }
            else
            {
                node = recency.AddFirst(new Entry(group, new Lazy<RowGroupImages>(() => read(group), LazyThreadSafetyMode.ExecutionAndPublication)));
                entries.Add(group, node);
            }
        }

        Entry entry = node.Value;
        RowGroupImages images;
        try
        {
            images = entry.Images.Value;
        }
        catch
        {
            // Forget a failed read so that a later call tries again (and reports the error again).
            lock (gate)
            {
                if (entries.TryGetValue(group, out LinkedListNode<Entry>? current) && current == node)
                {
                    entries.Remove(group);
                    recency.Remove(node);
                }
            }

            throw;
        }

        lock (gate)
        {
            if (!entry.Counted && entries.ContainsKey(group))
            {
                entry.Counted = true;
                cachedBytes += images.Bytes;
                while (cachedBytes > budget && recency.Last is { } last && last != node)
                {
                    recency.RemoveLast();
                    entries.Remove(last.Value.Group);
                    if (last.Value.Counted)
                    {
                        cachedBytes -= last.Value.Images.Value.Bytes;
                    }
                }

                Log.RowGroupRead(logger, images.Shard, images.RowGroup, images.Encoded.Length, images.Bytes, cachedBytes);
            }
        }

        return images;
    }

    private sealed class Entry(int group, Lazy<RowGroupImages> images)
    {
        public int Group { get; } = group;

        public Lazy<RowGroupImages> Images { get; } = images;

        public bool Counted { get; set; }
    }
}

/// <summary>One row group's encoded images and their Hugging Face <c>path</c> values (for messages).</summary>
internal sealed record RowGroupImages(string Shard, int RowGroup, byte[]?[] Encoded, string?[] Paths)
{
    /// <summary>Total encoded bytes.</summary>
    public long Bytes { get; } = Encoded.Sum(b => (long)(b?.Length ?? 0));
}
