using System.Globalization;
using System.Text.Json;

namespace StratumProxy.Feeds;

/// <summary>
/// Picks one number out of a JSON document with a small JSONPath subset: <c>$</c>, <c>.name</c>,
/// <c>['name']</c> and <c>[index]</c> — e.g. <c>$.bitcoin.usd</c>, <c>data.amount</c>, <c>$[0]['price']</c>.
/// Numbers may be JSON numbers or numeric strings (several exchanges quote prices as strings).
/// </summary>
public static class JsonPathExtractor
{
    public static double ExtractNumber(JsonElement root, string path)
    {
        var element = Navigate(root, path);
        return element.ValueKind switch
        {
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.String when double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
            _ => throw new FormatException($"'{path}' is {element.ValueKind}, not a number"),
        };
    }

    public static JsonElement Navigate(JsonElement root, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var current = root;
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            var c = path[i];
            if (c == '.')
            {
                i++;
                continue;
            }

            if (c == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0)
                {
                    throw new FormatException($"unclosed '[' in '{path}'");
                }

                var inner = path[(i + 1)..close].Trim();
                i = close + 1;
                if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"'))
                {
                    current = Property(current, inner[1..^1], path);
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                    {
                        throw new FormatException($"'{path}': no element [{index}]");
                    }

                    current = current[index];
                }
                else
                {
                    throw new FormatException($"'{path}': bad index '[{inner}]'");
                }

                continue;
            }

            var end = i;
            while (end < path.Length && path[end] != '.' && path[end] != '[')
            {
                end++;
            }

            current = Property(current, path[i..end], path);
            i = end;
        }

        return current;
    }

    private static JsonElement Property(JsonElement element, string name, string path) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value
            : throw new FormatException($"'{path}': no property '{name}'");
}
