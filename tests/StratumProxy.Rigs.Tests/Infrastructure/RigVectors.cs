using System.Text;
using System.Text.Json.Nodes;

namespace StratumProxy.Rigs.Tests.Infrastructure;

/// <summary>tests/vectors/rig-api-examples.json: recorded request/response pairs per firmware family.</summary>
internal static class RigVectors
{
    private static readonly Lazy<JsonObject> Document = new(() => (JsonObject)JsonNode.Parse(File.ReadAllText(Locate()))!);

    public static JsonObject Example(string id)
    {
        foreach (var family in Document.Value["families"]!.AsObject())
        {
            foreach (var example in family.Value!["examples"]!.AsArray())
            {
                if ((string?)example!["id"] == id)
                {
                    return example.AsObject();
                }
            }
        }

        throw new KeyNotFoundException(id);
    }

    /// <summary>The exact request bytes the vector gives.</summary>
    public static byte[] Request(string id) => Encoding.UTF8.GetBytes((string)Example(id)["request"]!["payload"]!);

    /// <summary>The exact reply bytes when recorded; otherwise the parsed reply re-serialised (plus a NUL if asked).</summary>
    public static byte[] Reply(string id, bool nulTerminated = true)
    {
        var response = Example(id)["response"]!;
        if (response["payload"] is { } payload)
        {
            return Encoding.UTF8.GetBytes((string)payload!);
        }

        var json = (response["json"] ?? response["json_excerpt"])!.ToJsonString();
        return Encoding.UTF8.GetBytes(nulTerminated ? json + "\0" : json);
    }

    /// <summary>The reply text without its NUL terminator, for composing joined replies from captured parts.</summary>
    public static string ReplyText(string id) => Encoding.UTF8.GetString(Reply(id)).TrimEnd('\0');

    public static JsonNode ReplyJson(string id) => JsonNode.Parse(ReplyText(id))!;

    // tests/vectors/*.json are copied beside the test assembly by the build.
    private static string Locate() => Path.Combine(AppContext.BaseDirectory, "vectors", "rig-api-examples.json");
}
