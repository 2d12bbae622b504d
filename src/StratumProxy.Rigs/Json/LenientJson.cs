using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Json;

/// <summary>
/// Parses rig replies. Well-formed JSON goes straight through; otherwise a single repair pass fixes the defects
/// documented for rig firmware (bmminer's "}{" between STATS sections, Avalon's stray commas and bare inf/nan,
/// Whatsminer's raw newlines inside strings and ",}") and the repaired text is parsed once more.
/// </summary>
internal static class LenientJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = true, MaxDepth = 64 };

    /// <summary>Keeps '+', '/' and quotes in tokens and base64 as the rigs expect them (the default encoder escapes '+').</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(Trim(utf8));
        return Parse(text) as JsonObject
            ?? throw new RigTransportException(TransportFault.InvalidReply, "reply is not a JSON object");
    }

    public static JsonNode? Parse(string text)
    {
        try
        {
            return ParseLastWins(text);
        }
        catch (JsonException)
        {
        }

        try
        {
            return ParseLastWins(Repair(text));
        }
        catch (JsonException ex)
        {
            throw new RigTransportException(TransportFault.InvalidReply, $"reply is not JSON: {Preview(text)}", ex);
        }
    }

    /// <summary>
    /// Parses into nodes where a name given twice in one object keeps its last value, as cgminer-style clients read
    /// it. (JsonNode.Parse accepts such an object but throws ArgumentException on its first lookup.)
    /// </summary>
    private static JsonNode? ParseLastWins(string text)
    {
        using var document = JsonDocument.Parse(text, DocumentOptions);
        return ToNode(document.RootElement);
    }

    private static JsonNode? ToNode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = ToNode(property.Value);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToNode(item));
                }

                return array;
            case JsonValueKind.Null:
                return null;
            default:
                return JsonValue.Create(element.Clone());
        }
    }

    internal static string Repair(string text)
    {
        var output = new StringBuilder(text.Length + 16);
        var inString = false;
        var escaped = false;
        var lastSignificant = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                    output.Append(c);
                }
                else if (c == '\\')
                {
                    escaped = true;
                    output.Append(c);
                }
                else if (c == '"')
                {
                    inString = false;
                    output.Append(c);
                    lastSignificant = c;
                }
                else if (c < ' ')
                {
                    output.Append(c switch
                    {
                        '\n' => "\\n",
                        '\r' => "\\r",
                        '\t' => "\\t",
                        _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                    });
                }
                else
                {
                    output.Append(c);
                }

                continue;
            }

            if (char.IsWhiteSpace(c) || c == '\0')
            {
                output.Append(c == '\0' ? ' ' : c);
                continue;
            }

            if ((c is '{' or '[' or '"') && lastSignificant is '}' or ']' || (c == '"' && lastSignificant == '"'))
            {
                output.Append(',');
            }

            if (c == ',' && lastSignificant is ',' or '{' or '[' or '\0')
            {
                continue;
            }

            if (char.IsAsciiLetter(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiLetter(text[i + 1])))
            {
                var start = i;
                while (i + 1 < text.Length && (char.IsAsciiLetter(text[i + 1]) || text[i + 1] == '-'))
                {
                    i++;
                }

                var word = text[start..(i + 1)];
                output.Append(word.ToUpperInvariant() switch
                {
                    "INF" or "-INF" or "INFINITY" or "-INFINITY" or "NAN" or "-NAN" => "null",
                    _ => word,
                });
                lastSignificant = 'l';
                continue;
            }

            if (c == '"')
            {
                inString = true;
            }

            output.Append(c);
            lastSignificant = c;
        }

        return output.ToString();
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> utf8)
    {
        var end = utf8.Length;
        while (end > 0 && utf8[end - 1] is 0 or (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            end--;
        }

        return utf8[..end];
    }

    internal static string Preview(string text) => text.Length <= 120 ? text : string.Concat(text.AsSpan(0, 120), "…");
}
