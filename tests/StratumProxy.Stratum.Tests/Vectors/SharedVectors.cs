using System.Runtime.CompilerServices;
using System.Text.Json;

namespace StratumProxy.Stratum.Tests.Vectors;

/// <summary>
/// Finds and reads the shared protocol material in <c>shared/vectors/</c>, which sits beside the repository
/// (<c>../shared</c> from the repository root) both here and in CI.
/// </summary>
public static class SharedVectors
{
    private const string RelativePath = "shared/vectors";

    private static readonly Lazy<string> Directory = new(Locate);

    /// <summary>The absolute path of <c>shared/vectors</c>; throws with the places searched if it is missing.</summary>
    public static string FindDirectory() => Directory.Value;

    /// <summary>Parses <paramref name="fileName"/> (e.g. <c>stratum-v1-vectors.json</c>) from the vectors directory.</summary>
    public static JsonDocument ReadJson(string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var path = Path.Combine(FindDirectory(), fileName);
        using var stream = File.OpenRead(path);
        return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
    }

    private static string Locate()
    {
        // The test binaries may live outside the clone (dotnet test --artifacts-path /tmp/…), so besides the
        // output folder also try the working directory and this source file's own location.
        var starts = new List<string> { AppContext.BaseDirectory, Environment.CurrentDirectory };
        var sourceDirectory = Path.GetDirectoryName(ThisSourceFile());
        if (!string.IsNullOrEmpty(sourceDirectory) && Path.IsPathRooted(sourceDirectory))
        {
            starts.Add(sourceDirectory);
        }

        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, RelativePath);
                if (System.IO.Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"No '{RelativePath}' directory above any of: {string.Join(", ", starts)}. " +
            "The shared material must sit beside the repository (../shared).");
    }

    private static string ThisSourceFile([CallerFilePath] string path = "") => path;
}
