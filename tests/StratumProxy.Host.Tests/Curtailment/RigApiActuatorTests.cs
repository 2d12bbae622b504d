using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StratumProxy.Farm;
using StratumProxy.Rigs;

namespace StratumProxy.Host.Tests.Curtailment;

public sealed class RigApiActuatorTests
{
    [Fact]
    public async Task A_rig_that_refuses_connections_is_reported_unreachable_and_a_rig_without_api_unsupported()
    {
        // A port that was free a moment ago: connecting to it is refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var actuator = new RigApiActuator(new RigCommander(time), time);
        var rig = new RigOptions { Worker = "farm.s19", Api = "cgminer", Address = $"127.0.0.1:{port}" };

        // The commander backs off between connect attempts on the (fake) clock: move it along until it gives up.
        var sleeping = actuator.SleepAsync(rig, CancellationToken.None);
        for (var i = 0; i < 500 && !sleeping.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }

        var outcome = await sleeping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("unreachable", outcome.Status);
        Assert.False(outcome.Confirmed);
        var reading = await actuator.ReadAsync(rig, CancellationToken.None);
        Assert.Equal(RigReadKind.Unreachable, reading.Kind);
        Assert.Null(reading.Awake);
        Assert.Null(reading.HashrateThs);
        Assert.Equal(RigReadKind.NoApi, (await actuator.ReadAsync(new RigOptions { Worker = "farm.x" }, CancellationToken.None)).Kind);

        var none = await actuator.WakeAsync(new RigOptions { Worker = "farm.x" }, CancellationToken.None);
        Assert.Equal("unsupported", none.Status);
        var unknown = await actuator.WakeAsync(new RigOptions { Worker = "farm.y", Api = "minerstat", Address = "127.0.0.1:1" }, CancellationToken.None);
        Assert.Contains("is not one of cgminer", unknown.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rig_api_that_sends_without_end_is_cut_off_unreachable_and_counted()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var flood = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            _ = await stream.ReadAsync(new byte[4096]);
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'{');
            try
            {
                while (true)
                {
                    await stream.WriteAsync(chunk);
                }
            }
            catch (IOException)
            {
                // Cut off by the proxy.
            }
        });
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var failures = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter("stratumproxy_rig_api_failures_total", "test", ["reason"]);
        var actuator = new RigApiActuator(new RigCommander(TimeProvider.System), TimeProvider.System) { Failures = failures };
        var rig = new RigOptions { Worker = "farm.s19", Api = "cgminer", Address = $"127.0.0.1:{port}" };
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var reading = await actuator.ReadAsync(rig, guard.Token);
        await flood.WaitAsync(guard.Token);

        Assert.Equal(RigReadKind.Unreachable, reading.Kind);
        Assert.Contains("exceeds", reading.Detail, StringComparison.Ordinal);
        Assert.Equal(1, failures.WithLabels("invalid_reply").Value);
        Assert.Equal("connection_closed_without_reply", RigApiActuator.FailureLabel(RigFailureReason.ConnectionClosedWithoutReply));
    }

    [Fact]
    public async Task A_cgminer_rig_reads_awake_with_its_hashrate_and_pool_and_asleep_once_its_devices_are_disabled()
    {
        await using var api = new EndToEnd.FakeCgminer(devices: 2, megahashesPerSecond: 5);
        var actuator = new RigApiActuator(new RigCommander(TimeProvider.System), TimeProvider.System);
        var rig = new RigOptions { Worker = "farm.s19", Api = "cgminer", Address = api.Address };
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var awake = await actuator.ReadAsync(rig, guard.Token);
        Assert.Equal((RigReadKind.Known, true, "awake"), (awake.Kind, awake.Awake, awake.Label));
        Assert.Equal(5e-6, awake.HashrateThs!.Value, 12);

        api.SetAll(enabled: false);
        var asleep = await actuator.ReadAsync(rig, guard.Token);
        Assert.Equal((RigReadKind.Known, false, "asleep"), (asleep.Kind, asleep.Awake, asleep.Label));
        Assert.Contains(api.Requests, r => r.Contains("summary+pools+config", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_reads_log_at_debug_and_commands_with_their_outcome_at_information()
    {
        await using var api = new EndToEnd.FakeCgminer(devices: 2, megahashesPerSecond: 5);
        var logger = new ListLogger();
        var actuator = new RigApiActuator(new RigCommander(TimeProvider.System, logger), TimeProvider.System);
        var rig = new RigOptions { Worker = "farm.s19", Api = "cgminer", Address = api.Address };
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // A read at every evaluation for every rig: not a line per rig per interval at Information.
        Assert.Equal(RigReadKind.Known, (await actuator.ReadAsync(rig, guard.Token)).Kind);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("ReadStatus", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Information);

        Assert.True((await actuator.SleepAsync(rig, guard.Token)).Confirmed);
        var sleep = Assert.Single(logger.Entries, e => e.Level == LogLevel.Information);
        Assert.Equal(3001, sleep.Id);
        Assert.Contains("Sleep -> RigConfirmed", sleep.Message, StringComparison.Ordinal);
    }

    private sealed class ListLogger : ILogger<RigCommander>
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, int Id, string Message)> _entries = new();

        public IReadOnlyList<(LogLevel Level, int Id, string Message)> Entries => [.. _entries];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }
}
