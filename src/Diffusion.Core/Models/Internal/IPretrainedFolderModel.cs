namespace Diffusion.Models.Internal;

/// <summary>
/// What <see cref="PretrainedFolder.Open{TModel, TConfig}"/> needs to know about one model class to open its diffusers
/// folder beyond what its config record knows (<see cref="IModelConfig{TSelf}"/>): which tensor shapes the config
/// fixes and how the model is built. Each model class implements it explicitly, so that its public <c>FromPretrained</c> is
/// one call and the steps every folder shares stay in <see cref="PretrainedFolder"/>.
/// </summary>
/// <typeparam name="TSelf">The model class.</typeparam>
/// <typeparam name="TConfig">Its config (or options) record.</typeparam>
internal interface IPretrainedFolderModel<TSelf, TConfig>
    where TSelf : nn.Module, IPretrainedFolderModel<TSelf, TConfig>
    where TConfig : IModelConfig<TConfig>
{
    /// <summary>The shapes <paramref name="config"/> fixes for a few telling tensors (name → shape), compared with the
    /// weights file's header before anything is allocated, so that a wrong digit in the config fails before it costs
    /// memory (see <see cref="IO.StateDictCheck.ConfigSizes"/>).</summary>
    static abstract IEnumerable<(string Key, long[] Shape)> ExpectedShapes(TConfig config);

    /// <summary>Builds the model on the CPU with fresh weights.</summary>
    /// <param name="config">A config without violations.</param>
    /// <param name="dtype">The weights' type; null keeps float32.</param>
    static abstract TSelf Create(TConfig config, ScalarType? dtype);
}
