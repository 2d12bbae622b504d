namespace StratumProxy.Browser.Tests;

/// <summary>
/// A test that needs the system's Chromium (Debian package <c>chromium</c>, installed by <c>.ci/run</c>). Without it
/// the test is skipped with the reason on a developer machine; in CI (<c>CI=true</c>) it runs and fails saying so.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Path is null && !Chromium.InCi)
        {
            Skip = $"Chromium is not installed ({Chromium.Missing}); install it with `apt-get install -y chromium` to run the browser test.";
        }
    }
}

/// <summary>Where the system's Chromium is.</summary>
public static class Chromium
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    /// <summary>The executable, or null when none is installed. <c>CHROMIUM_PATH</c> overrides.</summary>
    public static string? Path { get; } = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } own && File.Exists(own)
        ? own
        : Candidates.FirstOrDefault(File.Exists);

    /// <summary>True under CI, where a missing browser is a failure, not a skip.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>What was looked for.</summary>
    public static string Missing => "looked for " + string.Join(", ", Candidates) + " and $CHROMIUM_PATH";
}
