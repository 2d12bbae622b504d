using System.Text.Json;

namespace StratumProxy.Economics.Tests;

/// <summary>The shared Stratum vectors and captures, copied next to the test assembly by the project file.</summary>
internal static class Vectors
{
    public static JsonDocument Load(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", fileName);
        Assert.True(File.Exists(path), $"missing {path}: shared/vectors must sit beside the repository");
        return JsonDocument.Parse(File.ReadAllText(path));
    }

    public static JsonElement Vector(JsonDocument vectors, string id) =>
        vectors.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("id").GetString() == id);
}
