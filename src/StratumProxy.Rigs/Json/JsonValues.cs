using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StratumProxy.Rigs.Json;

/// <summary>Reads values that rigs send either as JSON numbers/booleans or as strings ("3000", "true", "Y").</summary>
internal static class JsonValues
{
    public static double? Number(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.Number => value.GetValue<double>(),
            JsonValueKind.String => double.TryParse(value.GetValue<string>().Trim('\''), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
            _ => null,
        };
    }

    public static int? Int(JsonNode? node) => Number(node) is { } d ? (int)Math.Round(d) : null;

    public static long? Long(JsonNode? node) => Number(node) is { } d ? (long)Math.Round(d) : null;

    public static string? String(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        }
        : null;

    public static bool? Bool(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => value.GetValue<string>().ToUpperInvariant() switch
            {
                "TRUE" or "Y" or "YES" or "1" => true,
                "FALSE" or "N" or "NO" or "0" => false,
                _ => null,
            },
            JsonValueKind.Number => value.GetValue<double>() != 0,
            _ => null,
        }
        : null;

    /// <summary>
    /// The member at a path of names, or null where a name is missing or a step is not an object: a rig may answer an
    /// array, a number or a string where its documentation has an object, and JsonNode's own name indexer throws there.
    /// </summary>
    public static JsonNode? At(JsonNode? node, params ReadOnlySpan<string> path)
    {
        foreach (var name in path)
        {
            if (node is not JsonObject obj)
            {
                return null;
            }

            node = obj[name];
        }

        return node;
    }

    /// <summary>First element of a cgminer section array (e.g. SUMMARY[0]), or the node itself if it is an object.</summary>
    public static JsonObject? First(JsonNode? node) => node switch
    {
        JsonArray { Count: > 0 } array => array[0] as JsonObject,
        JsonObject obj => obj,
        _ => null,
    };
}
