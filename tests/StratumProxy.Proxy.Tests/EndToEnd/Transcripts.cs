using System.Text.Json;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>
/// The real wire sessions in <c>tests/vectors/stratum-v1-transcripts.json</c>: the exact
/// lines real miners sent, to replay against the proxy.
/// </summary>
internal static class Transcripts
{
    private const string FileName = "stratum-v1-transcripts.json";

    private static readonly Lazy<JsonDocument> Document = new(Load);

    /// <summary>The client→server lines of the session whose name starts with <paramref name="namePrefix"/>, in order.</summary>
    public static IReadOnlyList<string> ClientLines(string namePrefix)
    {
        foreach (var session in Document.Value.RootElement.GetProperty("sessions").EnumerateArray())
        {
            if (!session.GetProperty("name").GetString()!.StartsWith(namePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            return [.. session.GetProperty("lines").EnumerateArray()
                .Where(l => l.TryGetProperty("dir", out var dir) && dir.GetString() == "client->server")
                .Select(l => l.GetProperty("line").GetString()!)];
        }

        throw new KeyNotFoundException($"No session named '{namePrefix}…' in {FileName}.");
    }

    /// <summary>The first client line of a session that calls <paramref name="method"/>.</summary>
    public static string FirstCall(string namePrefix, string method) =>
        ClientLines(namePrefix).First(l => l.Contains("\"" + method + "\"", StringComparison.Ordinal));

    private static JsonDocument Load()
    {
        // tests/vectors/*.json are copied beside the test assembly by the build.
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "vectors", FileName));
        return JsonDocument.Parse(stream);
    }
}
