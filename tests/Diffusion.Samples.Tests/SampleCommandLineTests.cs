namespace Diffusion.Tests;

/// <summary>Every sample behaves like a tool: --help, one-line errors, exit codes (issue 17).</summary>
public sealed class SampleCommandLineTests
{
    public static TheoryData<string, string[]> SamplesAndTheirOptions => new()
    {
        { "Flowers.dll", ["--minutes", "--steps", "--image-size", "--model-dims", "--batch-size", "--lr", "--dataset-size", "--data", "--output", "--device", "--count", "--sampling-steps", "--seed", "--fresh", "--bf16", "--threads"] },
        { "Sampling.dll", ["--weights", "--scheduler", "--sampling-steps", "--count", "--seed", "--output", "--threads"] },
        { "Pretrained.dll", ["<folder>", "--scheduler", "--sampling-steps", "--count", "--seed", "--output", "--threads"] },
        { "TextToImage.dll", ["--minutes", "--steps", "--clip", "--clip-minutes", "--image-size", "--model-dims", "--batch-size", "--lr", "--dataset-size", "--sampling-steps", "--seed", "--output", "--threads"] },
        { "ClipZeroShot.dll", ["--minutes", "--steps", "--batch-size", "--dataset-size", "--test-size", "--clip", "--output", "--seed", "--threads"] },
        { "StableDiffusion.dll", ["<folder>", "--prompt", "--negative", "--steps", "--guidance", "--seed", "--size", "--count", "--init-image", "--strength", "--device", "--dtype", "--output", "--threads"] },
    };

    public static TheoryData<string, string, string> MissingInputs => new()
    {
        { "Flowers.dll", "--data", "/no/such/flowers-folder" },
        { "Sampling.dll", "--weights", "/no/such/unet-ema.safetensors" },
        { "TextToImage.dll", "--clip", "/no/such/clip-folder" },
        { "ClipZeroShot.dll", "--clip", "/no/such/clip-folder" },
    };

    [Theory]
    [MemberData(nameof(SamplesAndTheirOptions))]
    public void HelpExitsZeroAndListsEveryOption(string dll, string[] options)
    {
        (int code, string stdout, string stderr) = SampleProcess.Run(dll, ["--help"]);

        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        foreach (string option in options.Append("--help"))
        {
            Assert.Contains(option + " ", stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(SamplesAndTheirOptions))]
    public void AnUnknownFlagPrintsOneLineAndExitsTwo(string dll, string[] options)
    {
        _ = options;
        (int code, string stdout, string stderr) = SampleProcess.Run(dll, ["--colour", "red"]);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout); // nothing ran: the command line is checked before libtorch loads
        string line = Assert.Single(SampleProcess.Lines(stderr));
        Assert.Contains("'--colour'", line, StringComparison.Ordinal);
        Assert.Contains("--help", line, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(MissingInputs))]
    public void AMissingInputPrintsOneLineNamingItAndExitsTwo(string dll, string flag, string path)
    {
        (int code, string stdout, string stderr) = SampleProcess.Run(dll, [flag, path]);

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        string line = Assert.Single(SampleProcess.Lines(stderr));
        Assert.Contains($"{flag}: no ", line, StringComparison.Ordinal);
        Assert.Contains($"'{path}'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptInputFileIsARuntimeFailureInOneLineWithoutAStackTrace()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string weights = Path.Combine(dir.Path, "unet-ema.safetensors");
        File.WriteAllText(weights, "this is not a safetensors file");

        (int code, string stdout, string stderr) = SampleProcess.Run("Sampling.dll", ["--weights", weights, "--threads", "1"]);

        Assert.True(code == 1, stdout + stderr);
        Assert.Contains("CPU: ", stdout, StringComparison.Ordinal); // the shared start-up ran first
        string line = Assert.Single(SampleProcess.Lines(stderr));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(weights, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal); // no stack frame
    }

    [Fact]
    public void TheReadmeListsEverySampleWithItsCommand()
    {
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "README.md"));
        string[] samples = [.. Directory.GetFiles(Path.Combine(TestEnvironment.RepoRoot, "samples"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension).OfType<string>().Where(name => name != "DocsSnippets")];

        Assert.Equal(6, samples.Length);
        foreach (string sample in samples)
        {
            Assert.Contains($"- **{sample}** — ", readme, StringComparison.Ordinal);
            Assert.Contains($"dotnet run -c Release --project samples/{sample}", readme, StringComparison.Ordinal);
        }
    }
}
