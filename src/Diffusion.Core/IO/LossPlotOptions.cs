using Diffusion.Schedulers.Internal;
using Diffusion.Internal;

namespace Diffusion.IO;

/// <summary>Options for <see cref="LossPlot"/>.</summary>
public sealed record LossPlotOptions
{
    /// <summary>Image width in pixels (240 to 8192). <value>The default value is 960.</value></summary>
    public int Width { get; init; } = 960;

    /// <summary>Image height in pixels (160 to 8192). <value>The default value is 540.</value></summary>
    public int Height { get; init; } = 540;

    /// <summary>The title above the plot. <value>The default value is "Training loss".</value></summary>
    public string Title { get; init; } = "Training loss";

    /// <summary>The label of the horizontal axis. <value>The default value is "step".</value></summary>
    public string XLabel { get; init; } = "step";

    /// <summary>The label of the vertical axis. <value>The default value is "loss".</value></summary>
    public string YLabel { get; init; } = "loss";

    /// <summary>The step of the first loss value; value i belongs to step FirstStep + i. <value>The default value is 1.</value></summary>
    public long FirstStep { get; init; } = 1;

    /// <summary>
    /// Width in steps of the centred moving average drawn over the raw curve; null picks a twenty-fifth of the
    /// values (at least 1). <value>The default value is null.</value>
    /// </summary>
    public int? SmoothingWindow { get; init; }

    /// <summary>Checks every option and throws one exception listing every violation.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        OptionsValidation.Check(errors, Width is >= 240 and <= 8192, $"Width must be in [240, 8192]; got {Width}");

        OptionsValidation.Check(errors, Height is >= 160 and <= 8192, $"Height must be in [160, 8192]; got {Height}");

        OptionsValidation.Check(errors, Title is not null && XLabel is not null && YLabel is not null, "Title, XLabel and YLabel must not be null (use an empty string for none)");

        OptionsValidation.Check(errors, FirstStep >= 0, $"FirstStep must be 0 or more; got {FirstStep}");

        OptionsValidation.Check(errors, SmoothingWindow is null or >= 1, $"SmoothingWindow must be at least 1 or null; got {SmoothingWindow}");

        OptionsValidation.ThrowIfAny(nameof(LossPlotOptions), errors);
    }
}
