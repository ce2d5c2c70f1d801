namespace Diffusion.IO;

/// <summary>The allowlist: the globals a state dict names, and what calling them builds (plain data, never code).</summary>
internal sealed partial class TorchUnpickler
{
    private const int MaxRank = 64;   // libtorch's limit on dimensions
    private const int MaxKeyLength = 64; // storage keys are decimal numbers in practice

    private static readonly Dictionary<(string Module, string Name), TorchGlobal> Globals = BuildGlobals();

    private static Dictionary<(string, string), TorchGlobal> BuildGlobals()
    {
        var globals = new Dictionary<(string, string), TorchGlobal>();
        void Add(string module, string name, TorchGlobalKind kind, ScalarType type = ScalarType.Byte) =>
            globals.Add((module, name), new TorchGlobal(module, name, kind, type));

        Add("collections", "OrderedDict", TorchGlobalKind.OrderedDict);
        Add("torch._utils", "_rebuild_tensor", TorchGlobalKind.RebuildTensor);
        Add("torch._utils", "_rebuild_tensor_v2", TorchGlobalKind.RebuildTensorV2);
        Add("torch._utils", "_rebuild_parameter", TorchGlobalKind.RebuildParameter);
        Add("torch._utils", "_rebuild_parameter_with_state", TorchGlobalKind.RebuildParameterWithState);
        Add("torch", "FloatStorage", TorchGlobalKind.Storage, ScalarType.Float32);
        Add("torch", "DoubleStorage", TorchGlobalKind.Storage, ScalarType.Float64);
        Add("torch", "HalfStorage", TorchGlobalKind.Storage, ScalarType.Float16);
        Add("torch", "BFloat16Storage", TorchGlobalKind.Storage, ScalarType.BFloat16);
        Add("torch", "LongStorage", TorchGlobalKind.Storage, ScalarType.Int64);
        Add("torch", "IntStorage", TorchGlobalKind.Storage, ScalarType.Int32);
        Add("torch", "ShortStorage", TorchGlobalKind.Storage, ScalarType.Int16);
        Add("torch", "CharStorage", TorchGlobalKind.Storage, ScalarType.Int8);
        Add("torch", "ByteStorage", TorchGlobalKind.Storage, ScalarType.Byte);
        Add("torch", "BoolStorage", TorchGlobalKind.Storage, ScalarType.Bool);
        return globals;
    }

    private TorchGlobal ResolveGlobal(string module, string name)
    {
        if (Globals.TryGetValue((module, name), out TorchGlobal? global))
        {
            return global;
        }

        string hint = module.StartsWith("__torch__", StringComparison.Ordinal)
            ? " This looks like a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead."
            : string.Empty;
        throw new InvalidDataException(
            $"{path}: refused the global '{module}.{name}' (pickle byte {opcodeAt}): a state dict needs only tensors, their storages " +
            $"and OrderedDict, and nothing in the file is executed.{hint}");
    }

    // ('storage', torch.FloatStorage, key, location, numel), as torch.save's persistent_id writes it.
    private TorchStorageRef ResolvePersistentId(object? id)
    {
        if (id is not object?[] { Length: 5 } t || t[0] is not "storage")
        {
            throw Invalid($"a persistent id must be ('storage', type, key, location, numel); got {Kind(id)}");
        }

        if (t[1] is not TorchGlobal { Kind: TorchGlobalKind.Storage } type)
        {
            throw Invalid($"a persistent id's storage type must be a torch.*Storage class; got {Kind(t[1])}");
        }

        if (t[2] is not string key || key.Length is 0 or > MaxKeyLength || !key.All(char.IsAsciiLetterOrDigit))
        {
            throw Invalid($"a storage key must be 1 to {MaxKeyLength} ASCII letters or digits; got {Kind(t[2])}");
        }

        if (t[3] is not string location || t[4] is not long numel || numel < 0)
        {
            throw Invalid($"storage '{key}' must have a string location and a non-negative element count; got {Kind(t[3])} and {Kind(t[4])}");
        }

        if (storages.TryGetValue(key, out TorchStorageRef? seen))
        {
            if (seen.DType != type.StorageType || seen.Numel != numel)
            {
                throw Invalid($"storage '{key}' is declared twice, as {seen.Numel} × {seen.DType} and as {numel} × {type.StorageType}");
            }

            return seen;
        }

        var storage = new TorchStorageRef(key, type.StorageType, numel, location);
        storages.Add(key, storage);
        return storage;
    }

    private object Call(object? callable, object? args)
    {
        if (args is not object?[] a)
        {
            throw Invalid($"REDUCE needs an argument tuple; got {Kind(args)}");
        }

        if (callable is not TorchGlobal global)
        {
            throw Invalid($"REDUCE needs a callable global; got {Kind(callable)}");
        }

        switch (global.Kind)
        {
            case TorchGlobalKind.OrderedDict when a.Length == 0:
                return new PickleDict { Ordered = true };
            case TorchGlobalKind.RebuildTensor when a.Length == 4:
                return RebuildTensor(a);
            case TorchGlobalKind.RebuildTensorV2 when a.Length is 6 or 7:
                // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]); torch 2.x adds the
                // metadata dict only for tensors with extra state (e.g. a conjugate bit), which a state dict of real
                // tensors never has.
                if (a[4] is not bool || a[5] is not PickleDict || (a.Length == 7 && a[6] is not PickleDict { Items.Count: 0 }))
                {
                    throw Invalid($"{global} needs (storage, offset, size, stride, requires_grad, hooks); got {Describe(a)}");
                }

                return RebuildTensor(a);
            case TorchGlobalKind.RebuildParameter when a.Length == 3 && a[0] is TorchTensorRecord data && a[1] is bool:
                return data;
            case TorchGlobalKind.RebuildParameterWithState when a.Length == 4 && a[0] is TorchTensorRecord data && a[1] is bool:
                return data; // the state is the Parameter's Python attributes; a tensor needs none of it
            default:
                throw Invalid($"{global} cannot be called with {Describe(a)}");
        }
    }

    // Checks the view against its storage before anything is allocated: a non-negative offset, shape and stride,
    // an element count that fits, and the last element inside the storage.
    private TorchTensorRecord RebuildTensor(object?[] a)
    {
        if (a[0] is not TorchStorageRef storage || a[1] is not long offset || a[2] is not object?[] size || a[3] is not object?[] stride)
        {
            throw Invalid($"a tensor needs (storage, offset, size, stride); got {Describe(a)}");
        }

        if (size.Length != stride.Length || size.Length > MaxRank)
        {
            throw Invalid($"a tensor of storage '{storage.Key}' has {size.Length} sizes and {stride.Length} strides (at most {MaxRank})");
        }

        long[] shape = new long[size.Length];
        long[] strides = new long[size.Length];
        long numel = 1;
        long last = offset;
        try
        {
            for (int i = 0; i < size.Length; i++)
            {
                if (size[i] is not long n || n < 0 || stride[i] is not long s || s < 0)
                {
                    throw Invalid($"a tensor of storage '{storage.Key}' has size ({Describe(size)}) and stride ({Describe(stride)}); expected non-negative integers");
                }

                shape[i] = n;
                strides[i] = s;
                numel = checked(numel * n);
                if (n > 0)
                {
                    last = checked(last + ((n - 1) * s));
                }
            }
        }
        catch (OverflowException)
        {
            throw Invalid($"a tensor of storage '{storage.Key}' has size ({Describe(size)}) and stride ({Describe(stride)}), which overflow");
        }

        if (offset < 0 || (numel > 0 && last >= storage.Numel) || offset > storage.Numel)
        {
            throw Invalid(
                $"a tensor of shape [{string.Join(',', shape)}], stride [{string.Join(',', strides)}] and offset {offset} reaches element {last} " +
                $"of storage '{storage.Key}', which holds {storage.Numel}");
        }

        return new TorchTensorRecord(storage, offset, shape, strides);
    }

    private void Build(object? target, object? state)
    {
        // An OrderedDict with attributes (nn.Module.state_dict() sets _metadata: each submodule's version) pickles
        // them as a BUILD with a dict; they describe the Python modules, not the tensors, so they are dropped.
        if (target is PickleDict { Ordered: true } && state is PickleDict)
        {
            return;
        }

        throw Invalid($"BUILD of {Kind(target)} with {Kind(state)} is not part of a state dict");
    }
}
