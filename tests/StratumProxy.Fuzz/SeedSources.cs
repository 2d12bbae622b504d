using System.Text;
using System.Text.Json.Nodes;

namespace StratumProxy.Fuzz;

/// <summary>The repository's recorded material the seed corpora are built from: tests/vectors and the config/ samples.</summary>
internal sealed class SeedSources(string repositoryRoot)
{
    private readonly Lazy<JsonObject> _transcripts = new(() => Load(repositoryRoot, "tests/vectors/stratum-v1-transcripts.json"));
    private readonly Lazy<JsonObject> _rigs = new(() => Load(repositoryRoot, "tests/vectors/rig-api-examples.json"));

    public byte[] RepositoryFile(string relativePath) => File.ReadAllBytes(Path.Combine(repositoryRoot, relativePath));

    public IEnumerable<(string Path, byte[] Bytes)> RepositoryFiles(string relativeFolder, string pattern) =>
        Directory.GetFiles(Path.Combine(repositoryRoot, relativeFolder), pattern)
            .Order(StringComparer.Ordinal)
            .Select(f => (f, File.ReadAllBytes(f)));

    /// <summary>One seed per recorded session: every line in one direction, newline-terminated, as it came off the wire.</summary>
    public IEnumerable<Seed> TranscriptSeeds(string direction)
    {
        var index = 0;
        foreach (var session in _transcripts.Value["sessions"]!.AsArray())
        {
            var text = new StringBuilder();
            // A direct session has "lines" with client->server / server->client; a relayed one has "hops", of which
            // relay->pool is a client's side and pool->relay a server's.
            var hop = direction == "client->server" ? "relay->pool" : "pool->relay";
            foreach (var line in (session!["lines"] ?? session["hops"])!.AsArray())
            {
                if (((string?)line!["dir"] == direction || (string?)line["hop"] == hop) && (string?)line["line"] is { } wire)
                {
                    text.Append(wire).Append('\n');
                }
            }

            var name = (string?)session["client"] ?? "session";
            var slug = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-')]);
            if (text.Length > 0)
            {
                yield return new Seed($"{index:00}-{slug}", Encoding.UTF8.GetBytes(text.ToString()));
            }

            index++;
        }
    }

    /// <summary>
    /// The recorded replies of one rig family (tests/vectors/rig-api-examples.json), as the rig tests replay them: the
    /// exact payload when recorded, otherwise the JSON re-serialised with cgminer's NUL terminator.
    /// </summary>
    public IEnumerable<(string Id, byte[] Reply)> RigReplies(string family)
    {
        foreach (var example in _rigs.Value["families"]![family]!["examples"]!.AsArray())
        {
            var response = example!["response"];
            if (response is null)
            {
                continue;
            }

            byte[]? reply = null;
            if (response["payload"] is JsonValue payload && payload.TryGetValue<string>(out var text))
            {
                reply = Encoding.UTF8.GetBytes(text);
            }
            else if ((response["json"] ?? response["json_excerpt"]) is { } json)
            {
                reply = Encoding.UTF8.GetBytes(json.ToJsonString() + "\0");
            }

            if (reply is not null)
            {
                yield return ((string)example["id"]!, reply);
            }
        }
    }

    private static JsonObject Load(string root, string relativePath) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(root, relativePath)))!;
}
