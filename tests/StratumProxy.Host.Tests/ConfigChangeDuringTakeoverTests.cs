using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Takeover;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests;

/// <summary>
/// A configuration change made while a new process takes over (after it read the file, before its reload watch
/// begins) is applied by the new process once it serves; a start during which nothing changed reloads nothing.
/// </summary>
public sealed class ConfigChangeDuringTakeoverTests : IDisposable
{
    private const string Config = """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:PORT", "User": "u" } ], "Takeover": { "SocketPath": "SOCKET" } }, "Admin": { "Endpoint": "127.0.0.1:0" }, "Curtailment": { "Enabled": false } }""";

    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-takeover-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string File => Path.Combine(_directory, "farm.json");

    private string Contents(int port) => Config.Replace("PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("SOCKET", Path.Combine(_directory, "takeover.sock"), StringComparison.Ordinal);

    [Fact]
    public async Task A_change_made_while_the_new_process_takes_over_is_applied_once_it_serves()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = deadline.Token;
        System.IO.File.WriteAllText(File, Contents(1));

        // This test plays the running process: it listens on the takeover socket and hands over nothing.
        await using var running = HandoverChannel.Listen(Path.Combine(_directory, "takeover.sock"));
        var logs = new ListLoggerProvider();
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", File, "--takeover"]), _directory, logging: l => l.ClearProviders().AddProvider(logs));
        var root = (IConfigurationRoot)app.Services.GetRequiredService<IConfiguration>();
        var starting = app.StartAsync(token);
        await using var channel = await running.AcceptAsync(token);
        using (var hello = await channel.ReceiveAsync(token))
        {
            Assert.Contains("\"hello\"", Encoding.UTF8.GetString(hello.Payload), StringComparison.Ordinal);
        }

        // The operator edits the file now (one rename, one change event); the file watcher reloads the configuration
        // before the new process serves, so no reload token fires once it watches.
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (root.GetReloadToken().RegisterChangeCallback(_ => reloaded.TrySetResult(), null))
        {
            var edited = File + ".new";
            System.IO.File.WriteAllText(edited, Contents(2));
            System.IO.File.Move(edited, File, overwrite: true);
            await reloaded.Task.WaitAsync(token);
        }

        Assert.Equal("stratum+tcp://127.0.0.1:2", root["Proxy:Pools:0:Url"]);

        // The running process hands over nothing and lets go; it has exited (no such process).
        await channel.SendAsync(new TakeoverState { ProcessId = int.MaxValue, NextJobId = 1, Listeners = [], Pools = [], Sessions = [] }.ToUtf8(), [], token);
        using (var confirmed = await channel.ReceiveAsync(token))
        {
            Assert.Contains("\"confirmed\"", Encoding.UTF8.GetString(confirmed.Payload), StringComparison.Ordinal);
        }

        await channel.SendAsync(TakeoverConversation.Go(TakeoverState.CurrentFormat, int.MaxValue), [], token);
        await starting;

        var proxy = app.Services.GetRequiredService<ProxyLifetime>();
        Assert.Equal("stratum+tcp://127.0.0.1:2", Assert.Single(proxy.Control.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.StartsWith("The configuration changed while this process started", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.StartsWith("Configuration reloaded and applied", StringComparison.Ordinal));
        await app.StopAsync(token);
    }

    [Fact]
    public async Task A_start_during_which_nothing_changed_reloads_nothing()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        System.IO.File.WriteAllText(File, Contents(1));
        var logs = new ListLoggerProvider();
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", File]), _directory, logging: l => l.ClearProviders().AddProvider(logs));

        await app.StartAsync(deadline.Token);

        Assert.DoesNotContain(logs.Messages, m => m.StartsWith("The configuration changed while this process started", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.StartsWith("Configuration reloaded", StringComparison.Ordinal));
        await app.StopAsync(deadline.Token);
    }
}
