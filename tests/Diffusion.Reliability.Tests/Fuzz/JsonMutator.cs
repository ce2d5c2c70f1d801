using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Diffusion.Tests.Fuzz;

/// <summary>Seeded structural damage to a JSON document: values of the wrong kind or size, missing and repeated keys.</summary>
internal static class JsonMutator
{
    public static readonly string[] Kinds = ["replace-value", "remove-key", "repeat-key", "add-key", "wrap-in-array"];

    // Values that break parsers: wrong kinds, limits of every integer type, huge, negative, fractional, empty.
    private static readonly string[] Palette =
    [
        "null", "true", "false", "0", "-1", "1", "2", "0.5", "-0.0", "1e308", "-1e308", "1e999", "3.4e39",
        "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "1099511627776", "\"\"", "\"x\"", "\"NaN\"", "\"-Infinity\"", "\"F32\"", "\"U8\"", "\"BOOL\"",
        "\"linear\"", "\"epsilon\"", "\"\\u0000\"", "[]", "[1]", "[-1, 2]", "[0, 18446744073709551615]", "[1099511627776, 1099511627776]",
        "[\"a\", \"b\"]", "[[[[[[[[[[1]]]]]]]]]]", "{}", "{\"a\": 1}", "[null]", "[1.5, 2.5]", "[0, 0, 0]",
    ];

    public static (string Json, string Kind) Mutate(string json, Random random)
    {
        try
        {
            return MutateTree(json, random);
        }
        catch (ArgumentException)
        {
            return (json, "unchanged"); // a key repeated by an earlier mutation: JsonNode cannot hold it
        }
    }

    private static (string Json, string Kind) MutateTree(string json, Random random)
    {
        JsonNode? root = JsonNode.Parse(json);
        string kind = Kinds[random.Next(Kinds.Length)];
        if (root is null)
        {
            return (json, kind);
        }

        List<(JsonNode? Parent, string? Key, int Index, JsonNode? Node)> nodes = [];
        Collect(root, null, null, -1, nodes);
        var (parent, key, index, node) = nodes[random.Next(nodes.Count)];
        switch (kind)
        {
            case "replace-value" when parent is not null:
                Set(parent, key, index, JsonNode.Parse(Palette[random.Next(Palette.Length)]));
                return (root.ToJsonString(), kind);
            case "remove-key" when parent is JsonObject o && key is not null:
                o.Remove(key);
                return (root.ToJsonString(), kind);
            case "repeat-key" when parent is JsonObject && key is not null:
                {
                    // JsonNode cannot hold a repeated key: splice one into the text right after the opening brace.
                    string text = root.ToJsonString();
                    string needle = JsonSerializer.Serialize(key) + ":";
                    int at = text.IndexOf(needle, StringComparison.Ordinal);
                    int brace = at < 0 ? -1 : text.LastIndexOf('{', at);
                    if (brace < 0)
                    {
                        return (text, kind);
                    }

                    string repeated = needle + Palette[random.Next(Palette.Length)] + ",";
                    return (new StringBuilder(text).Insert(brace + 1, repeated).ToString(), kind);
                }

            case "add-key" when node is JsonObject target:
                target["fuzz_" + random.Next(100)] = JsonNode.Parse(Palette[random.Next(Palette.Length)]);
                return (root.ToJsonString(), kind);
            case "wrap-in-array" when parent is not null:
                Set(parent, key, index, new JsonArray(node?.DeepClone()));
                return (root.ToJsonString(), kind);
            default:
                if (parent is not null)
                {
                    Set(parent, key, index, JsonNode.Parse(Palette[random.Next(Palette.Length)]));
                }

                return (root.ToJsonString(), "replace-value");
        }
    }

    private static void Collect(JsonNode? node, JsonNode? parent, string? key, int index, List<(JsonNode?, string?, int, JsonNode?)> nodes)
    {
        nodes.Add((parent, key, index, node));
        switch (node)
        {
            case JsonObject o:
                foreach ((string k, JsonNode? v) in o.ToList())
                {
                    Collect(v, o, k, -1, nodes);
                }

                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    Collect(a[i], a, null, i, nodes);
                }

                break;
        }
    }

    private static void Set(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (parent is JsonObject o && key is not null)
        {
            o[key] = value;
        }
        else if (parent is JsonArray a)
        {
            a[index] = value;
        }
    }
}
