using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Diffusion.Benchmarks.Workloads;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>
/// <c>profile</c>: where a U-Net forward pass spends its time. Stopwatch hooks before and after every
/// module's forward add up inclusive wall time per module and per module type; the rest of the pass
/// (concatenations, the time-embedding add, residual adds) is what no module accounts for.
/// </summary>
/// <remarks>Takes the options of <c>compare</c> (<c>--model --hidden-dims --image-size --batch --threads --steps --dtype</c>).</remarks>
internal static partial class ProfileCommand
{
    public static int Run(string[] args)
    {
        CompareOptions o = CompareOptions.Parse(args);
        BenchmarkEnvironment.Initialise(o.Threads, o.KeepFreedMemory, allowCuda: !o.CpuOnly);
        Console.WriteLine($"# {BenchmarkEnvironment.Describe()}");
        using UNetWorkload workload = CompareCommand.CreateWorkload(o, training: false);
        UNetShape shape = workload.Shape;

        List<double> plain = CompareCommand.Time(() => workload.Forward(), o.Steps, o.Warmup);
        var byName = new Dictionary<string, double>(StringComparer.Ordinal);
        var byType = new Dictionary<string, double>(StringComparer.Ordinal);
        var open = new Stack<long>();
        var removers = new List<Action>();
        foreach ((string name, nn.Module module) in workload.Model.named_modules())
        {
            string key = name.Length == 0 ? "(unet)" : name;
            string type = module.GetType().Name;
            removers.AddRange(Hook(module, () => open.Push(Stopwatch.GetTimestamp()), () =>
            {
                double ms = Stopwatch.GetElapsedTime(open.Pop()).TotalMilliseconds;
                byName[key] = byName.GetValueOrDefault(key) + ms;
                if (name.Length > 0)
                {
                    byType[type] = byType.GetValueOrDefault(type) + ms;
                }
            }));
        }

        List<double> hooked = CompareCommand.Time(() => workload.Forward(), o.Steps, 0);
        removers.ForEach(remove => remove());
        double total = hooked.Sum();
        Console.WriteLine($"# {shape}, {o.DType}: forward {BenchmarkEnvironment.Median(plain):F1} ms without hooks, {BenchmarkEnvironment.Median(hooked):F1} ms with (median of {o.Steps})");
        Console.WriteLine("# by module type (inclusive; containers include their children):");
        foreach ((string type, double ms) in byType.OrderByDescending(p => p.Value))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{type,-24} {ms / o.Steps,10:F1} ms {100 * ms / total,6:F1} %"));
        }

        Console.WriteLine("# top-level parts, and each level's block1 (.0), block2 (.1), attention (.2), transition (.3):");
        foreach ((string name, double ms) in byName.Where(p => !p.Key.Contains('.', StringComparison.Ordinal) || LevelPart().IsMatch(p.Key)))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-24} {ms / o.Steps,10:F1} ms {100 * ms / total,6:F1} %"));
        }

        return 0;
    }

    [GeneratedRegex(@"^(down|up)_blocks\.\d+\.\d+$")]
    private static partial Regex LevelPart();

    // register_forward_pre_hook / register_forward_hook(Action<Module>) live on the generic HookableModule<,>.
    private static IEnumerable<Action> Hook(nn.Module module, Action before, Action after)
    {
        MethodInfo? pre = FindHook(module.GetType(), "register_forward_pre_hook");
        MethodInfo? post = FindHook(module.GetType(), "register_forward_hook");
        if (pre is null || post is null)
        {
            yield break;
        }

        foreach ((MethodInfo register, Action action) in new[] { (pre, before), (post, after) })
        {
            object remover = register.Invoke(module, [new Action<nn.Module>(_ => action())])!;
            MethodInfo remove = remover.GetType().GetMethod("remove")!;
            yield return () => remove.Invoke(remover, null);
        }
    }

    private static MethodInfo? FindHook(Type type, string name) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(m => m.Name == name && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(Action<nn.Module>));
}
