using System.Diagnostics;
using System.Text;

namespace StratumProxy.Host.Tests;

/// <summary>The real <c>stratum-proxy</c> executable (built beside the tests) run as a child process.</summary>
internal static class ProxyProcess
{
    /// <summary>Runs the executable to its end; a run that outlives the token is killed and fails the test.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string workingDirectory, IEnumerable<string> args, CancellationToken cancellationToken = default)
    {
        using var process = Start(workingDirectory, args);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"stratum-proxy {string.Join(' ', args)} did not exit");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    public static Process Start(string workingDirectory, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stratum-proxy.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The child reads only what the test gives it.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("STRATUMPROXY_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }
}
