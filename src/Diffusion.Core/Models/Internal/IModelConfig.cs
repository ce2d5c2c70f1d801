namespace Diffusion.Models.Internal;

/// <summary>
/// What every model configuration record can do for <see cref="PretrainedFolder"/> and <see cref="PretrainedModel"/>:
/// read itself from <c>config.json</c>'s text and list the rules it breaks. The records implement it with their public
/// <c>FromJson</c> and <c>GetViolations</c>, so a folder is read the same way whatever its class.
/// </summary>
/// <typeparam name="TSelf">The configuration record.</typeparam>
internal interface IModelConfig<TSelf>
    where TSelf : IModelConfig<TSelf>
{
    /// <summary>Parses <c>config.json</c>'s text.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="unknownKeys">Receives the keys the record does not know (they are logged, then ignored); null
    /// drops them.</param>
    /// <returns>The configuration, not yet checked against its rules.</returns>
    /// <exception cref="InvalidDataException">The text is not JSON, or a value has the wrong type.</exception>
    static abstract TSelf FromJson(string json, ICollection<string>? unknownKeys);

    /// <summary>The rules this configuration breaks; none means the model can be built.</summary>
    /// <returns>One sentence a rule.</returns>
    IReadOnlyList<string> GetViolations();
}
