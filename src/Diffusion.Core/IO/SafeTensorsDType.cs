namespace Diffusion.IO;

/// <summary>The safetensors dtype codes and their element sizes.</summary>
internal static class SafeTensorsDType
{
    private static readonly Dictionary<string, ScalarType> ByCode = new(StringComparer.Ordinal)
    {
        ["F64"] = ScalarType.Float64,
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    public static bool TryParse(string code, out ScalarType type) => ByCode.TryGetValue(code, out type);

    public static string ToCode(ScalarType type, string tensorName)
    {
        foreach ((string code, ScalarType t) in ByCode)
        {
            if (t == type)
            {
                return code;
            }
        }

        throw new ArgumentException($"tensor '{tensorName}' has dtype {type}, which safetensors cannot store; expected one of {string.Join(", ", ByCode.Values)}.");
    }

    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no safetensors element size for this dtype."),
    };
}
