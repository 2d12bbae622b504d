using System.Text.Json;
using System.Text.Json.Serialization;

namespace StratumProxy.Stratum;

/// <summary>Source-generated JSON for the cold paths of the protocol (option maps, rare messages).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StratumJsonContext : JsonSerializerContext;
