namespace Diffusion.IO;

/// <summary>What a global the unpickler accepts stands for.</summary>
internal enum TorchGlobalKind
{
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    Storage,
}

/// <summary>An allowed global (module and name as the pickle spells them); <see cref="StorageType"/> for typed storages.</summary>
internal sealed record TorchGlobal(string Module, string Name, TorchGlobalKind Kind, ScalarType StorageType = ScalarType.Byte)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>
/// A storage named by a persistent id <c>('storage', torch.FloatStorage, key, location, numel)</c>: its bytes are the
/// archive entry <c>data/&lt;key&gt;</c>, <see cref="Numel"/> elements of <see cref="DType"/>. One object per key, so
/// tensors that share a storage in the file share this reference.
/// </summary>
internal sealed record TorchStorageRef(string Key, ScalarType DType, long Numel, string Location);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would make it: a strided view of a storage.</summary>
internal sealed record TorchTensorRecord(TorchStorageRef Storage, long Offset, long[] Shape, long[] Stride)
{
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b); // checked when the record was made
}

/// <summary>A pickled dict or OrderedDict: insertion-ordered; setting an existing key replaces its value in place.</summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, int> index = [];

    public List<KeyValuePair<object, object?>> Items { get; } = [];

    public bool Ordered { get; init; }

    public object? Get(object key) => index.TryGetValue(key, out int i) ? Items[i].Value : null;

    public void Set(object key, object? value)
    {
        if (index.TryGetValue(key, out int i))
        {
            Items[i] = new(key, value);
        }
        else
        {
            index.Add(key, Items.Count);
            Items.Add(new(key, value));
        }
    }
}
