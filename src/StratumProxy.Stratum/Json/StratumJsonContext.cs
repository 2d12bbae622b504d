using System.Text.Json.Serialization;

namespace StratumProxy.Stratum;

/// <summary>Source-generated JSON for the cold paths of the protocol (rare messages).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(string[]))]
internal sealed partial class StratumJsonContext : JsonSerializerContext;
