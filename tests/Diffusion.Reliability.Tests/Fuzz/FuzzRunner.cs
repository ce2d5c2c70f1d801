using System.Diagnostics;
using Xunit.Abstractions;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Runs a seeded fuzz loop: each case is written to a file and read back. A case passes when reading succeeds
/// or throws one of the documented exceptions whose message names the file; anything else (another
/// exception type, a message without the path, managed allocation far beyond the file's size) is collected
/// and reported with its seed, index and kind. A native crash would end the test process; a hang trips the
/// loop's time limit.
/// </summary>
internal sealed class FuzzRunner(string name, int seed, ITestOutputHelper output)
{
    /// <summary>Managed bytes a read may allocate besides <see cref="AllocationPerFileByte"/> per byte of the file.</summary>
    public long AllocationAllowance { get; init; } = 1 << 20;

    public long AllocationPerFileByte { get; init; } = 64;

    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Exception types a malformed file may raise (InvalidDataException always may).</summary>
    public Type[] Allowed { get; init; } = [];

    /// <summary>When false, an allowed exception need not name the file (e.g. argument checks on parsed values).</summary>
    public Func<Exception, bool> MustNamePath { get; init; } = e => e is InvalidDataException;

    /// <summary>For a case kind, text its refusal must contain (the case then fails if it is read), or null when either outcome is fine.</summary>
    public Func<string, string?> MustRefuseWith { get; init; } = _ => null;

    /// <summary>Case kinds that are valid files and must be read (a refusal then fails the case).</summary>
    public Func<string, bool> MustRead { get; init; } = _ => false;

    /// <summary>
    /// Damage no reader may take: random bytes in place of the file, and, for formats whose lengths or checksums
    /// cover the whole file (safetensors, zip, pickle), any truncation. A kind ending in one of those names must be
    /// refused (with any documented exception), so a reader that accepted them would fail its fuzz test.
    /// </summary>
    public static string? AlwaysBroken(string kind, bool lengthChecked) =>
        kind.EndsWith("random-file", StringComparison.Ordinal) || (lengthChecked && kind.EndsWith("truncate", StringComparison.Ordinal)) ? string.Empty : null;

    public int Accepted { get; private set; }

    public int Rejected { get; private set; }

    public int Cases => Accepted + Rejected;

    /// <summary>
    /// Runs <paramref name="cases"/> cases made by <paramref name="make"/>, each written under <paramref name="directory"/>
    /// and read by <paramref name="read"/>; <paramref name="follow"/> runs after a successful read (e.g. training from what
    /// was read) and is judged alike, but not measured for allocation.
    /// </summary>
    public void Run(int cases, string directory, Func<Random, (IReadOnlyList<(string File, byte[] Bytes)> Files, string Kind)> make, Action<IReadOnlyList<string>> read,
        Action<IReadOnlyList<string>>? follow = null)
    {
        var failures = new List<string>();
        var kinds = new Dictionary<string, (int Accepted, int Rejected)>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var loop = Task.Factory.StartNew(
            () =>
            {
                // Warm-up cases of another seed, judged by nothing: the first JIT of each path and the runtime's first
                // exception of a type allocate once per process, which must not count against one damaged file.
                var warmUp = new Random(~seed);
                for (int i = 0; i < Math.Min(20, cases); i++)
                {
                    IReadOnlyList<(string File, byte[] Bytes)> files = make(warmUp).Files;
                    try
                    {
                        read([.. files.Select(f => Write(directory, f.File, f.Bytes))]);
                    }
                    catch (Exception)
                    {
                        // Judged in the measured loop below.
                    }
                }

                var random = new Random(seed);
                for (int i = 0; i < cases; i++)
                {
                    (IReadOnlyList<(string File, byte[] Bytes)> files, string kind) = make(random);
                    var paths = new List<string>(files.Count);
                    long size = 0;
                    foreach ((string file, byte[] bytes) in files)
                    {
                        paths.Add(Write(directory, file, bytes));
                        size += bytes.Length;
                    }

                    long before = GC.GetAllocatedBytesForCurrentThread();
                    long allocated = 0;
                    bool accepted = false;
                    try
                    {
                        read(paths);
                        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                        follow?.Invoke(paths);
                        accepted = true;
                        if (MustRefuseWith(kind) is { } expected)
                        {
                            failures.Add($"case {i} ({kind}): read, but must be refused with '{expected}'");
                        }
                    }
                    catch (Exception e) when (e is InvalidDataException || Allowed.Any(t => t.IsInstanceOfType(e)))
                    {
                        if (MustNamePath(e) && !paths.Any(p => e.Message.Contains(p, StringComparison.Ordinal)))
                        {
                            failures.Add($"case {i} ({kind}): {e.GetType().Name} does not name the file: {e.Message}");
                        }

                        if (MustRefuseWith(kind) is { } expected && !e.Message.Contains(expected, StringComparison.Ordinal))
                        {
                            failures.Add($"case {i} ({kind}): refused without '{expected}': {e.Message}");
                        }

                        if (MustRead(kind))
                        {
                            failures.Add($"case {i} ({kind}): a valid file was refused: {e.Message}");
                        }
                    }
                    catch (Exception e)
                    {
                        failures.Add($"case {i} ({kind}): {e.GetType().FullName}: {e.Message}");
                    }

                    allocated = allocated == 0 ? GC.GetAllocatedBytesForCurrentThread() - before : allocated;
                    if (allocated > AllocationAllowance + (AllocationPerFileByte * size))
                    {
                        failures.Add($"case {i} ({kind}): allocated {allocated:N0} managed bytes reading {size:N0} bytes");
                    }

                    (int a, int r) = kinds.GetValueOrDefault(kind);
                    kinds[kind] = accepted ? (a + 1, r) : (a, r + 1);
                    Accepted += accepted ? 1 : 0;
                    Rejected += accepted ? 0 : 1;
                }
            },
            TaskCreationOptions.LongRunning);

        Assert.True(loop.Wait(TimeLimit), $"{name}: the fuzz loop did not finish within {TimeLimit.TotalSeconds} s (a hang?) after {Cases} cases");
        output.WriteLine($"{name}: {Cases} cases (seed {seed}) in {clock.Elapsed.TotalSeconds:F1} s: {Accepted} read, {Rejected} refused");
        foreach ((string kind, (int a, int r)) in kinds.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {kind}: {a} read, {r} refused");
        }

        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {cases} cases failed (seed {seed}):\n" + string.Join("\n", failures.Take(200)));

        // A loop that read everything, or refused everything, tested nothing: damaged files must be refused, and the
        // valid or harmlessly changed ones among them read.
        Assert.True(Rejected > 0, $"{name}: all {Cases} damaged cases were read; the reader refuses nothing");
        Assert.True(Accepted > 0, $"{name}: all {Cases} cases were refused; none of the harmless changes was read");
    }

    private static string Write(string directory, string file, byte[] bytes)
    {
        string path = Path.Combine(directory, file);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
