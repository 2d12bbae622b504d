using System.Runtime.CompilerServices;

namespace StratumProxy.Host.Tests.Backtest;

/// <summary>Finds config/backtest/sample-week.csv: next to the test assembly when the project copies it, else in the checkout.</summary>
internal static class SampleSeries
{
    private const string Relative = "config/backtest/sample-week.csv";

    public static string Path => Find();

    private static string Find([CallerFilePath] string source = "")
    {
        var copied = System.IO.Path.Combine(AppContext.BaseDirectory, "backtest", "sample-week.csv");
        if (File.Exists(copied))
        {
            return copied;
        }

        foreach (var start in new[] { System.IO.Path.GetDirectoryName(source), AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, Relative);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        Assert.Fail($"cannot find {Relative} from {source}, {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}");
        return "";
    }
}
