using Microsoft.Extensions.Logging;

namespace Diffusion.Data;

/// <summary>Settings of <see cref="ImageFolderDataset.Open"/>.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>
    /// Whether each image's label is the name of its first sub-folder under the root (ImageNet style:
    /// <c>root/daisy/1.jpg</c> has label "daisy"). Label names are the sub-folder names sorted
    /// ordinally; every image must then be in a sub-folder.
    /// </summary>
    /// <value>The default value is <see langword="false"/> (no labels).</value>
    public bool LabelsFromFolders { get; init; }

    /// <summary>
    /// Name of the caption table in the root folder (lines <c>relative/path&lt;TAB&gt;caption</c>), or
    /// <see langword="null"/> to ignore it. A missing file is not an error.
    /// </summary>
    /// <value>The default value is "captions.tsv".</value>
    public string? CaptionsFile { get; init; } = "captions.tsv";

    /// <summary>Whether <c>name.txt</c> next to <c>name.jpg</c> holds that image's caption (used when the table has none).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CaptionSidecars { get; init; } = true;

    /// <summary>Largest width × height an image may declare; larger ones are refused before decoding.</summary>
    /// <value>The default value is 50,000,000 (about 7,000 × 7,000; 200 MB of RGBA while it is decoded).</value>
    public long MaxPixels { get; init; } = ImageDecoder.DefaultMaxPixels;

    /// <summary>Where to log what was found (counts, caption lines without an image).</summary>
    /// <value>The default value is <see langword="null"/> (no logging).</value>
    public ILoggerFactory? LoggerFactory { get; init; }
}
