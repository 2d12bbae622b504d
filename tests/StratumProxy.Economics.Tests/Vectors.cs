using System.Text.Json;

namespace StratumProxy.Economics.Tests;

/// <summary>The Stratum vectors and captures (tests/vectors), copied beside the test assembly by the build.</summary>
internal static class Vectors
{
    public static JsonDocument Load(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", fileName);
        Assert.True(File.Exists(path), $"missing {path}: tests/vectors/*.json are copied there by the build");
        return JsonDocument.Parse(File.ReadAllText(path));
    }

    public static JsonElement Vector(JsonDocument vectors, string id) =>
        vectors.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("id").GetString() == id);
}
