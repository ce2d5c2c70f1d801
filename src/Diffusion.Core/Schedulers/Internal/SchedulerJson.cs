using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// Maps the options records to and from diffusers' scheduler_config.json: each property by its snake_case name,
/// enums by diffusers' strings.
/// </summary>
internal static class SchedulerJson
{
    /// <summary>One scheduler class diffusers can name in "_class_name".</summary>
    internal sealed record Entry(string ClassName, Type OptionsType, Func<object, INoiseScheduler> Create, Func<INoiseScheduler, object?> OptionsOf, IReadOnlySet<string> UnimplementedKeys);

    /// <summary>The default of a feature key that is JSON null (UniPC's solver_p, shift_terminal).</summary>
    private static readonly object JsonNull = new();

    private static readonly Dictionary<string, object> FeatureDefaults = new()
    {
        ["solver_p"] = JsonNull,
        ["shift_terminal"] = JsonNull,
        ["use_exponential_sigmas"] = false,
        ["use_beta_sigmas"] = false,
        ["use_lu_lambdas"] = false,
        ["use_flow_sigmas"] = false,
        ["use_dynamic_shifting"] = false,
        ["flow_shift"] = 1.0,
        ["time_shift_type"] = "exponential",
        ["timestep_type"] = "discrete",
    };

    public static readonly Entry[] Entries =
    [
        new("DDPMScheduler", typeof(DdpmSchedulerOptions), o => new DdpmScheduler((DdpmSchedulerOptions)o), s => (s as DdpmScheduler)?.Options, Unimplemented()),
        new("DDIMScheduler", typeof(DdimSchedulerOptions), o => new DdimScheduler((DdimSchedulerOptions)o), s => (s as DdimScheduler)?.Options, Unimplemented()),
        new("EulerDiscreteScheduler", typeof(EulerDiscreteSchedulerOptions), o => new EulerDiscreteScheduler((EulerDiscreteSchedulerOptions)o), s => (s as EulerDiscreteScheduler)?.Options, Unimplemented("use_exponential_sigmas", "use_beta_sigmas", "timestep_type")),
        new("DPMSolverMultistepScheduler", typeof(DpmSolverMultistepSchedulerOptions), o => new DpmSolverMultistepScheduler((DpmSolverMultistepSchedulerOptions)o), s => (s as DpmSolverMultistepScheduler)?.Options, Unimplemented("use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas", "flow_shift", "use_dynamic_shifting", "time_shift_type")),
        new("EulerAncestralDiscreteScheduler", typeof(EulerAncestralDiscreteSchedulerOptions), o => new EulerAncestralDiscreteScheduler((EulerAncestralDiscreteSchedulerOptions)o), s => (s as EulerAncestralDiscreteScheduler)?.Options, Unimplemented()),
        new("PNDMScheduler", typeof(PNDMSchedulerOptions), o => new PNDMScheduler((PNDMSchedulerOptions)o), s => (s as PNDMScheduler)?.Options, Unimplemented()),
        new("LMSDiscreteScheduler", typeof(LmsDiscreteSchedulerOptions), o => new LmsDiscreteScheduler((LmsDiscreteSchedulerOptions)o), s => (s as LmsDiscreteScheduler)?.Options, Unimplemented("use_beta_sigmas")),
        new("HeunDiscreteScheduler", typeof(HeunDiscreteSchedulerOptions), o => new HeunDiscreteScheduler((HeunDiscreteSchedulerOptions)o), s => (s as HeunDiscreteScheduler)?.Options, Unimplemented("use_beta_sigmas")),
        new("UniPCMultistepScheduler", typeof(UniPCMultistepSchedulerOptions), o => new UniPCMultistepScheduler((UniPCMultistepSchedulerOptions)o), s => (s as UniPCMultistepScheduler)?.Options, Unimplemented("use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas", "flow_shift", "use_dynamic_shifting", "time_shift_type", "shift_terminal", "solver_p")),
    ];

    /// <summary>diffusers' key for a PascalCase property name.</summary>
    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0)
            {
                sb.Append('_');
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        return sb.ToString();
    }

    /// <summary>The options' public settable properties by JSON key.</summary>
    public static Dictionary<string, PropertyInfo> Properties(Type optionsType) =>
        optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => SnakeCase(p.Name));

    /// <summary>Whether <paramref name="key"/> names a diffusers feature we do not implement, and <paramref name="value"/> is its default.</summary>
    public static bool IsUnimplementedDefault(Entry entry, string key, JsonElement value, out bool known)
    {
        known = entry.UnimplementedKeys.Contains(key);
        if (!known)
        {
            return false;
        }

        return FeatureDefaults[key] switch
        {
            var n when n == JsonNull => value.ValueKind is JsonValueKind.Null,
            bool b => value.ValueKind is JsonValueKind.Null || (value.ValueKind is JsonValueKind.True or JsonValueKind.False && value.GetBoolean() == b),
            double d => value.ValueKind == JsonValueKind.Number && value.GetDouble() == d,
            string s => value.ValueKind == JsonValueKind.String && value.GetString() == s,
            _ => false,
        };
    }

    /// <summary>The JSON text of a default, for messages.</summary>
    public static string DefaultText(string key) => FeatureDefaults[key] switch
    {
        var n when n == JsonNull => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => "\"" + s + "\"",
        var o => o.ToString() ?? string.Empty,
    };

    /// <summary>
    /// Python's json writes bare NaN, Infinity and -Infinity (diffusers' lambda_min_clipped); System.Text.Json
    /// reads them only as strings, so those tokens outside strings are quoted.
    /// </summary>
    public static string QuoteNonFiniteLiterals(string json)
    {
        var sb = new StringBuilder(json.Length);
        bool inString = false;
        for (int i = 0; i < json.Length; i++)
        {
            char c = json[i];
            if (inString)
            {
                sb.Append(c);
                if (c == '\\' && i + 1 < json.Length)
                {
                    sb.Append(json[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
                sb.Append(c);
                continue;
            }

            string? literal = new[] { "-Infinity", "Infinity", "NaN" }.FirstOrDefault(l => string.CompareOrdinal(json, i, l, 0, l.Length) == 0);
            if (literal is not null)
            {
                sb.Append('"').Append(literal).Append('"');
                i += literal.Length - 1;
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    /// <summary>Options of ours that diffusers' config files do not have (read like theirs, written only when set).</summary>
    public static IReadOnlySet<string> OwnKeys { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "eta", "use_clipped_model_output", "previous_timestep_from_schedule", "lms_order",
    };

    /// <summary>Writes an unimplemented feature's key with its default, the only value this library accepts for it.</summary>
    public static void WriteFeatureDefault(Utf8JsonWriter writer, string key)
    {
        object value = FeatureDefaults[key];
        SchedulerJsonValues.Write(writer, key, value == JsonNull ? null : value);
    }

    private static HashSet<string> Unimplemented(params string[] keys) => [.. keys];
}
