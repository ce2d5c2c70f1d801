using System.Diagnostics;
using System.Text.RegularExpressions;
using Diffusion.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Docs;

/// <summary>The Python that docs/weights.md gives for writing safetensors without the package writes files we read.</summary>
public sealed partial class DocumentedPythonTests
{
    private const string Python = "/usr/bin/python3";

    [SkippableFact]
    public void HandWrittenSafeTensorsWriterInTheDocsMakesFilesThatLoad()
    {
        Skip.IfNot(File.Exists(Python), $"no Python at {Python}");
        string doc = File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "docs", "weights.md"));
        Match block = PythonBlock().Matches(doc).FirstOrDefault(m => m.Groups[1].Value.Contains("def save_safetensors", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException("docs/weights.md has no python block defining save_safetensors");
        // The function only: the block's last line converts the book's file, which is not here.
        string function = block.Groups[1].Value[..block.Groups[1].Value.IndexOf("\nsave_safetensors(torch.load", StringComparison.Ordinal)];

        using var dir = TestEnvironment.CreateTempDirectory();
        string file = Path.Combine(dir.Path, "made-by-python.safetensors");
        string script = Path.Combine(dir.Path, "write.py");
        File.WriteAllText(script, function + $$"""

            save_safetensors({
                "w": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
                "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
                "bf": torch.tensor([0.25, 3.0], dtype=torch.bfloat16),
                "step": torch.tensor(7, dtype=torch.int64),
                "empty": torch.zeros(0, 4),
            }, r"{{file}}", {"made_by": "docs/weights.md"})
            """);

        var start = new ProcessStartInfo(Python, [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("python did not finish within 60 s");
        }

        string errors = stderr.Result + stdout.Result;
        Skip.If(errors.Contains("No module named 'torch'", StringComparison.Ordinal), $"{Python} has no torch");
        Assert.True(process.ExitCode == 0, $"python failed ({process.ExitCode}):\n{errors}");

        Assert.Equal("docs/weights.md", SafeTensors.ReadHeader(file).Metadata["made_by"]);
        Dictionary<string, Tensor> tensors = SafeTensors.Load(file);
        try
        {
            Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f], tensors["w"].data<float>().ToArray());
            Assert.Equal([2L, 3L], tensors["w"].shape);
            Assert.Equal(ScalarType.Float16, tensors["half"].dtype);
            Assert.Equal([1.5f, -2f], tensors["half"].to(float32).data<float>().ToArray());
            Assert.Equal([0.25f, 3f], tensors["bf"].to(float32).data<float>().ToArray());
            Assert.Equal(7L, tensors["step"].item<long>());
            Assert.Empty(tensors["step"].shape);
            Assert.Equal([0L, 4L], tensors["empty"].shape);
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    [GeneratedRegex(@"```python\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex PythonBlock();
}
