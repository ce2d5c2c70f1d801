namespace Diffusion.Tests.Fuzz;

/// <summary>Seeded byte-level damage: what a disk, a network copy or a half-written file does to a file.</summary>
internal static class ByteMutator
{
    public static readonly string[] Kinds = ["truncate", "bit-flips", "bit-flips-in-head", "random-span", "insert", "delete", "random-file"];

    /// <summary>Damages a copy of <paramref name="original"/>; <paramref name="head"/> bytes at the start get extra attention.</summary>
    public static (byte[] Bytes, string Kind) Mutate(byte[] original, Random random, int head)
    {
        string kind = Kinds[random.Next(Kinds.Length)];
        byte[] bytes = (byte[])original.Clone();
        switch (kind)
        {
            case "truncate":
                return (bytes[..random.Next(0, bytes.Length)], kind);
            case "bit-flips":
                FlipBits(bytes, random, 0, bytes.Length, random.Next(1, 9));
                return (bytes, kind);
            case "bit-flips-in-head":
                FlipBits(bytes, random, 0, Math.Min(head, bytes.Length), random.Next(1, 4));
                return (bytes, kind);
            case "random-span":
                {
                    int start = random.Next(0, Math.Min(head, bytes.Length));
                    int length = random.Next(1, 17);
                    for (int i = start; i < Math.Min(bytes.Length, start + length); i++)
                    {
                        bytes[i] = (byte)random.Next(256);
                    }

                    return (bytes, kind);
                }

            case "insert":
                {
                    int at = random.Next(0, Math.Min(head, bytes.Length) + 1);
                    byte[] extra = new byte[random.Next(1, 9)];
                    random.NextBytes(extra);
                    return ([.. bytes[..at], .. extra, .. bytes[at..]], kind);
                }

            case "delete":
                {
                    int at = random.Next(0, Math.Max(1, Math.Min(head, bytes.Length)));
                    int length = Math.Min(bytes.Length - at, random.Next(1, 9));
                    return ([.. bytes[..at], .. bytes[(at + length)..]], kind);
                }

            default:
                {
                    byte[] noise = new byte[random.Next(0, 300)];
                    random.NextBytes(noise);
                    return (noise, kind);
                }
        }
    }

    private static void FlipBits(byte[] bytes, Random random, int start, int end, int count)
    {
        if (end <= start)
        {
            return;
        }

        for (int i = 0; i < count; i++)
        {
            bytes[random.Next(start, end)] ^= (byte)(1 << random.Next(8));
        }
    }
}
