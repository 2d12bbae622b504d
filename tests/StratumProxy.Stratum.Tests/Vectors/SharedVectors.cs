using System.Text.Json;

namespace StratumProxy.Stratum.Tests.Vectors;

/// <summary>
/// Reads the real protocol material kept in the repository under <c>tests/vectors/</c>, which the build copies
/// beside every test assembly as <c>vectors/*.json</c>.
/// </summary>
public static class SharedVectors
{
    /// <summary>The absolute path of the copied vectors folder; throws naming it if it is missing.</summary>
    public static string FindDirectory()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors");
        return Directory.Exists(path)
            ? path
            : throw new DirectoryNotFoundException($"No '{path}': the build copies tests/vectors/*.json there.");
    }

    /// <summary>Parses <paramref name="fileName"/> (e.g. <c>stratum-v1-vectors.json</c>) from the vectors directory.</summary>
    public static JsonDocument ReadJson(string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var path = Path.Combine(FindDirectory(), fileName);
        using var stream = File.OpenRead(path);
        return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
    }
}
