using System.Text.Json.Serialization;
using StratumProxy.Economics.Rigs;
using StratumProxy.Economics.Tariffs;

namespace StratumProxy.Economics.Serialization;

/// <summary>Source-generated JSON for the economics config files (rig catalog, tariffs): snake_case, comments allowed.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CatalogDocument))]
[JsonSerializable(typeof(TariffDocument))]
internal sealed partial class EconomicsConfigJsonContext : JsonSerializerContext;
