using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Takeover;

namespace StratumProxy.Host.Tests;

/// <summary>
/// A configuration change that arrives while an upgrade handover is under way is not applied in the middle of it: it
/// is deferred with a log line and applied once the handover ends with this process still serving.
/// </summary>
public sealed class ReloadDuringHandoverTests : IDisposable
{
    private const string Config = """{ "Proxy": { "Listeners": [ { "Endpoint": "127.0.0.1:0" } ], "Pools": [ { "Name": "p", "Url": "stratum+tcp://127.0.0.1:PORT", "User": "u" } ] }, "Admin": { "Endpoint": "127.0.0.1:0" } }""";

    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-reload-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_reload_during_a_handover_is_deferred_logged_and_applied_when_the_handover_is_refused()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, Config.Replace("PORT", "1", StringComparison.Ordinal));
        var logs = new ListLoggerProvider();
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders().AddProvider(logs));
        await app.StartAsync(deadline.Token);
        var service = app.Services.GetRequiredService<ProxyService>();
        var proxy = app.Services.GetRequiredService<ProxyLifetime>();
        var root = (IConfigurationRoot)app.Services.GetRequiredService<IConfiguration>();

        // A new process has connected and not introduced itself yet: the handover is under way.
        var channel = new HeldChannel();
        var handing = proxy.HandOverAsync(channel, SocketMover.Instance, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), deadline.Token);
        await channel.Receiving.Task.WaitAsync(deadline.Token);

        File.WriteAllText(file, Config.Replace("PORT", "2", StringComparison.Ordinal));
        root.Reload();
        Assert.False(service.Reload());
        Assert.Equal("stratum+tcp://127.0.0.1:1", Assert.Single(proxy.Control.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.StartsWith("Configuration reload deferred: an upgrade handover is under way", StringComparison.Ordinal));

        // The new process speaks another state format: refused, this process serves on and applies the change.
        channel.Answer("""{"kind":"hello","format":999,"processId":1}""");
        Assert.False(await handing);
        Assert.Equal("stratum+tcp://127.0.0.1:2", Assert.Single(proxy.Control.Options.Pools).Url);
        Assert.Contains(logs.Messages, m => m.StartsWith("Configuration reloaded and applied", StringComparison.Ordinal));
        await app.StopAsync(deadline.Token);
    }

    [Fact]
    public async Task A_handover_that_starts_while_a_reload_runs_is_refused()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, Config.Replace("PORT", "1", StringComparison.Ordinal));
        await using var app = ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory, logging: l => l.ClearProviders());
        await app.StartAsync(deadline.Token);
        var proxy = app.Services.GetRequiredService<ProxyLifetime>();

        var channel = new HeldChannel();
        Task<bool>? handing = null;
        Assert.True(proxy.ReloadUnlessHandingOver(() =>
        {
            handing = proxy.HandOverAsync(channel, SocketMover.Instance, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), deadline.Token);
            return true;
        }));

        Assert.False(await handing!);
        Assert.Contains("configuration reload is under way", Encoding.UTF8.GetString(Assert.Single(channel.Sent)), StringComparison.Ordinal);
        await app.StopAsync(deadline.Token);
    }

    /// <summary>A handover connection whose new process says nothing until told to.</summary>
    private sealed class HeldChannel : IHandoverChannel
    {
        private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>();

        public TaskCompletionSource Receiving { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<byte[]> Sent { get; } = [];

        public void Answer(string json) => _incoming.Writer.TryWrite(Encoding.UTF8.GetBytes(json));

        public ValueTask SendAsync(ReadOnlyMemory<byte> payload, IReadOnlyList<SafeHandle> handles, CancellationToken cancellationToken)
        {
            Sent.Add(payload.ToArray());
            return ValueTask.CompletedTask;
        }

        public async ValueTask<(byte[] Payload, IReadOnlyList<SafeHandle> Handles)> ReceiveAsync(CancellationToken cancellationToken)
        {
            Receiving.TrySetResult();
            return (await _incoming.Reader.ReadAsync(cancellationToken), []);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
