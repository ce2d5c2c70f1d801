namespace Diffusion.Samples;

/// <summary>What a path option must name.</summary>
public enum PathKind
{
    /// <summary>An existing file.</summary>
    File,

    /// <summary>An existing folder.</summary>
    Folder,

    /// <summary>An existing file or folder.</summary>
    FileOrFolder,
}
