using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Data;

/// <summary>
/// Images in a folder tree (JPEG, PNG, WebP, BMP, GIF), in sorted order, with optional captions and
/// folder-name labels. An unpacked Oxford 102 Flowers (<c>jpg/image_00001.jpg</c> …) works as is.
/// </summary>
/// <remarks>
/// <para>
/// Files are found recursively; names and folders starting with '.' are skipped; the order is the
/// ordinal order of the relative paths with '/' separators, the same on every OS. Only the list of
/// files is read at <see cref="Open"/>; each <see cref="GetItem"/> reads and decodes one file (thread-safe).
/// </para>
/// <para>
/// Decoding, resizing the shorter side to <see cref="ImageSize"/> and centre-cropping happen in
/// <see cref="GetItem"/>, as torchvision's <c>Resize</c> + <c>CenterCrop</c> + <c>ToTensor</c> do;
/// random augmentation is the loader's job (<see cref="DataLoaderOptions.Transforms"/>).
/// </para>
/// <para>
/// Captions: an image's line in the caption table (<see cref="ImageFolderOptions.CaptionsFile"/>,
/// <c>relative/path&lt;TAB&gt;caption</c>), else its <c>name.txt</c> sidecar, else none.
/// </para>
/// </remarks>
public sealed class ImageFolderDataset : IImageDataset
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    private readonly string[] files;
    private readonly string?[] captions;
    private readonly int[]? labels;
    private readonly long maxPixels;

    private ImageFolderDataset(string root, int imageSize, string[] files, string?[] captions, int[]? labels, string[] labelNames, long maxPixels)
    {
        Root = root;
        ImageSize = imageSize;
        this.files = files;
        this.captions = captions;
        this.labels = labels;
        LabelNames = labelNames;
        this.maxPixels = maxPixels;
    }

    /// <summary>The folder, as a full path.</summary>
    public string Root { get; }

    /// <inheritdoc/>
    public int Count => files.Length;

    /// <inheritdoc/>
    public int ImageSize { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>The image files' paths relative to <see cref="Root"/> ('/' separators), in item order.</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>Lists the images under <paramref name="folder"/> and reads the captions.</summary>
    /// <param name="folder">The root folder.</param>
    /// <param name="imageSize">Side of the square images returned (8 to 4096).</param>
    /// <param name="options">Captions, labels, limits, logging; null for the defaults.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="imageSize"/> is out of range.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">No images, a malformed caption table, or (with labels) images outside sub-folders.</exception>
    public static ImageFolderDataset Open(string folder, int imageSize, ImageFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (imageSize is < 8 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"imageSize must be in [8, 4096]; got {imageSize}.");
        }

        options ??= new ImageFolderOptions();
        if (options.MaxPixels < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPixels, $"options.MaxPixels must be at least 1; got {options.MaxPixels}.");
        }

        string root = Path.GetFullPath(folder);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder '{root}' does not exist.");
        }

        ILogger logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ImageFolderDataset>();
        var images = new List<string>();
        var sidecars = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.System }))
        {
            string relative = CaptionSources.NormalisePath(Path.GetRelativePath(root, file));
            if (relative.Split('/').Any(part => part.StartsWith('.')))
            {
                continue;
            }

            string extension = Path.GetExtension(relative).ToLowerInvariant();
            if (ImageExtensions.Contains(extension))
            {
                images.Add(relative);
            }
            else if (extension == ".txt")
            {
                sidecars.Add(relative);
            }
        }

        if (images.Count == 0)
        {
            throw new InvalidDataException($"Image folder '{root}' holds no images (looked for {string.Join(", ", ImageExtensions)}, recursively).");
        }

        images.Sort(StringComparer.Ordinal);
        string?[] captions = ReadCaptions(root, images, sidecars, options, logger);
        (int[]? labels, string[] labelNames) = options.LabelsFromFolders ? FolderLabels(root, images) : (null, []);
        Log.FolderOpened(logger, root, images.Count, labelNames.Length, captions.Count(c => c is not null));
        return new ImageFolderDataset(root, imageSize, [.. images], captions, labels, labelNames, options.MaxPixels);
    }

    /// <inheritdoc/>
    /// <remarks>Thread-safe. The image is a new float32 [3, H, W] CPU tensor in [0, 1]; the caller disposes it.</remarks>
    /// <exception cref="InvalidDataException">The file cannot be read or is not a valid image; the message names it.</exception>
    public ImageItem GetItem(int index)
    {
        if ((uint)index >= (uint)files.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {files.Length - 1}]; got {index}.");
        }

        string path = Path.Combine(Root, files[index]);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Image '{path}' cannot be read: {e.Message}", e);
        }

        return new ImageItem(ImageDecoder.DecodeToTensor(bytes, ImageSize, maxPixels, path), captions[index], labels?[index]);
    }

    private static string?[] ReadCaptions(string root, List<string> images, HashSet<string> sidecars, ImageFolderOptions options, ILogger logger)
    {
        Dictionary<string, string> table = [];
        string? tablePath = options.CaptionsFile is null ? null : Path.Combine(root, options.CaptionsFile);
        if (tablePath is not null && File.Exists(tablePath))
        {
            table = CaptionSources.ReadTable(tablePath);
        }

        var captions = new string?[images.Count];
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < images.Count; i++)
        {
            if (table.TryGetValue(images[i], out string? caption))
            {
                captions[i] = caption;
                used.Add(images[i]);
                continue;
            }

            string sidecar = Path.ChangeExtension(images[i], ".txt");
            if (options.CaptionSidecars && sidecars.Contains(sidecar))
            {
                captions[i] = CaptionSources.ReadSidecar(Path.Combine(root, sidecar));
            }
        }

        string[] orphans = [.. table.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal)];
        if (orphans.Length > 0)
        {
            Log.CaptionsWithoutImage(logger, tablePath!, orphans.Length, orphans[0]);
        }

        return captions;
    }

    private static (int[] Labels, string[] Names) FolderLabels(string root, List<string> images)
    {
        string[] loose = [.. images.Where(p => !p.Contains('/', StringComparison.Ordinal))];
        if (loose.Length > 0)
        {
            throw new InvalidDataException($"LabelsFromFolders needs every image in a sub-folder of '{root}'; {loose.Length} are in the folder itself, e.g. '{loose[0]}'.");
        }

        string[] folderOf = [.. images.Select(p => p[..p.IndexOf('/', StringComparison.Ordinal)])];
        string[] names = [.. folderOf.Distinct().Order(StringComparer.Ordinal)];
        int[] labels = [.. folderOf.Select(f => Array.BinarySearch(names, f, StringComparer.Ordinal))];
        return (labels, names);
    }
}
