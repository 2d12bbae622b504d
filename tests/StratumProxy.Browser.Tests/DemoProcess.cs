using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StratumProxy.Browser.Tests;

/// <summary>
/// The real <c>stratum-proxy</c> executable running <c>demo</c> as a child process, with its output collected; stopped
/// with SIGINT, as Ctrl+C does.
/// </summary>
internal sealed partial class DemoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource<string> _page = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DemoProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the process printed so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>The process.</summary>
    public Process Process => _process;

    /// <summary>Starts <c>dotnet stratum-proxy.dll demo</c> with the given arguments, in an empty working directory.</summary>
    public static DemoProcess Start(string workingDirectory, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "stratum-proxy.dll");
        Assert.True(File.Exists(dll), $"the executable is not beside the tests: {dll}");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("demo");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var demo = new DemoProcess(process);
        process.OutputDataReceived += (_, e) => demo.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => demo.OnLine(e.Data);
        process.Exited += (_, _) => demo._page.TrySetException(new InvalidOperationException("the demo exited before printing its status page's address:" + Environment.NewLine + demo.Output));
        Assert.True(process.Start(), "the demo did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return demo;
    }

    /// <summary>The status page's address, once the demo has printed it.</summary>
    public Task<string> PageAsync(CancellationToken cancellationToken) => _page.Task.WaitAsync(cancellationToken);

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.Add(line);
        }

        const string marker = "Status page: ";
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        if (at >= 0)
        {
            _page.TrySetResult(line[(at + marker.Length)..].Trim());
        }
    }

    /// <summary>Sends SIGINT (what Ctrl+C sends) and waits for the process to exit; returns its exit code.</summary>
    public async Task<int> InterruptAsync(CancellationToken cancellationToken)
    {
        Assert.Equal(0, Kill(_process.Id, SigInt));
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A test that failed early: stop it as Ctrl+C does (so it removes its data folder), or kill it.
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                _ = Kill(_process.Id, SigInt);
                await _process.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
    }

    private const int SigInt = 2;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
