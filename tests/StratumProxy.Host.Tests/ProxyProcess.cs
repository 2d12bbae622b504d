using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

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

/// <summary>A running <c>stratum-proxy</c> whose output lines the test waits on; killed when disposed.</summary>
internal sealed class RunningProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];
    private readonly Task _stdout;
    private readonly Task _stderr;

    public RunningProxy(string workingDirectory, IEnumerable<string> args)
    {
        _process = ProxyProcess.Start(workingDirectory, args);
        _stdout = Pump(_process.StandardOutput);
        _stderr = Pump(_process.StandardError);
    }

    /// <summary>The child's process id (for readers of /proc).</summary>
    public int Id => _process.Id;

    /// <summary>Every line read so far.</summary>
    public IReadOnlyList<string> Seen
    {
        get
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }
    }

    /// <summary>The first line (from now on, or already read) that matches; fails the test after a generous deadline.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what)
    {
        lock (_seen)
        {
            if (_seen.FirstOrDefault(match) is { } earlier)
            {
                return earlier;
            }
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(deadline.Token);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new Xunit.Sdk.XunitException($"stratum-proxy never logged {what}; it wrote:\n{string.Join('\n', _seen)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await Task.WhenAll(_stdout, _stderr);
        _process.Dispose();
    }

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_seen)
            {
                _seen.Add(line);
            }

            await _lines.Writer.WriteAsync(line);
        }
    }
}
