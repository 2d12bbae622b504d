using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// The real proxy executable as a child process: <c>dotnet stratum-proxy.dll</c> from this test's build output (the
/// test project references the host, so the build puts it beside the test assembly), run in a working directory of
/// the test's choosing. Its miner and admin ports are read from its own log lines. Disposing kills it (the whole
/// process tree), whatever state the test ended in.
/// </summary>
internal sealed partial class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<int> _minerPort = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Uri> _admin = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProxyProcess(string workingDirectory, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stratum-proxy.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data);
    }

    /// <summary>The miner listener's port.</summary>
    public int MinerPort { get; private set; }

    /// <summary>The admin endpoint.</summary>
    public Uri Admin { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Everything it printed so far (for failure messages).</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the proxy and waits until it says where it listens; <paramref name="environment"/> is added to its environment.</summary>
    public static async Task<ProxyProcess> StartAsync(string workingDirectory, IReadOnlyList<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var proxy = new ProxyProcess(workingDirectory, arguments, environment);
        try
        {
            proxy._process.Start();

            // Should the test host itself go down first, the proxy goes with it.
            AppDomain.CurrentDomain.ProcessExit += proxy.KillOnExit;
            proxy._process.BeginOutputReadLine();
            proxy._process.BeginErrorReadLine();
            var exited = proxy._process.WaitForExitAsync(cancellationToken);
            var ready = Task.WhenAll(proxy._minerPort.Task, proxy._admin.Task);
            if (await Task.WhenAny(ready, exited) != ready)
            {
                throw new InvalidOperationException("the proxy exited before it listened:" + Environment.NewLine + proxy.Output);
            }

            proxy.MinerPort = await proxy._minerPort.Task;
            proxy.Admin = await proxy._admin.Task;
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as systemd or docker stop sends: the host stops cleanly. Returns once it has exited.</summary>
    public async Task TerminateAsync(CancellationToken cancellationToken)
    {
        const int SigTerm = 15;
        if (SendSignal(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        await _process.WaitForExitAsync(cancellationToken);
    }

    /// <summary>Waits (a generous deadline) until a line containing <paramref name="text"/> has been printed.</summary>
    public async Task WaitForLogAsync(string text, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromMinutes(1));
        try
        {
            while (!_output.Any(l => l.Contains(text, StringComparison.Ordinal)))
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new Xunit.Sdk.XunitException($"the proxy never printed '{text}':{Environment.NewLine}{Output}");
        }
    }

    /// <summary>Waits until it exits by itself.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>The exit code (once exited).</summary>
    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        _process.Dispose();
    }

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        if (MinerListening().Match(line) is { Success: true } miner)
        {
            _minerPort.TrySetResult(int.Parse(miner.Groups[1].Value, CultureInfo.InvariantCulture));
        }

        if (AdminListening().Match(line) is { Success: true } admin)
        {
            _admin.TrySetResult(new Uri(admin.Groups[1].Value));
        }
    }

    /// <summary>The dotnet host running this test (the SDK sets DOTNET_HOST_PATH), else dotnet on the PATH.</summary>
    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    [GeneratedRegex(@"Listening for miners on 127\.0\.0\.1:(\d+)")]
    private static partial Regex MinerListening();

    [GeneratedRegex(@"Admin endpoint on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex AdminListening();
}
