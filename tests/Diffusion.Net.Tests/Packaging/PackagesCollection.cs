namespace Diffusion.Tests.Packaging;

/// <summary>The package tests share one pack of the four projects and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackedFeed>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "packages";
}
