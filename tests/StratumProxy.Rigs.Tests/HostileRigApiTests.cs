using System.Net.Sockets;
using System.Text;
using StratumProxy.Rigs.Http;
using StratumProxy.Rigs.Tests.Infrastructure;
using StratumProxy.Rigs.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Rigs.Tests;

/// <summary>
/// A rig API that drips its reply a byte at a time, or sends without end, costs at most the command timeout in time
/// and <see cref="RigReplyLimits.MaxReplyBytes"/> in memory, over TCP (cgminer-style) and over HTTP.
/// </summary>
public sealed class HostileRigApiTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(7);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reply_dripped_a_byte_a_second_is_cut_off_at_the_command_timeout(bool http)
    {
        var time = new ObservableTime();
        await using var rig = new HostileRig(http ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" : string.Empty, flood: false);
        var endpoint = new RigEndpoint("127.0.0.1", rig.Port) { CommandTimeout = CommandTimeout };
        using var client = http ? new RigHttp(endpoint, time, digestAuth: false) : null;
        Task exchange = http
            ? client!.SendAsync(HttpMethod.Get, "/api/v1/miner/stats", null, null, null, null, CancellationToken.None)
            : (Task)new TcpRpcTransport(endpoint, time).ExchangeAsync("{\"command\":\"summary\"}"u8.ToArray(), ReplyFraming.NulOrClose, CancellationToken.None);
        await rig.WaitForRequestsAsync(1);

        // Every second of the clock a byte arrives: a deadline that only counts silence would never end this.
        for (var second = 0; second < CommandTimeout.TotalSeconds - 1; second++)
        {
            await rig.DripAsync(second + 1);
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.False(exchange.IsCompleted, $"the exchange ended after {second + 1} s");
        }

        await rig.DripAsync((int)CommandTimeout.TotalSeconds);
        time.Advance(TimeSpan.FromSeconds(1));
        var fault = await Assert.ThrowsAsync<RigTransportException>(() => exchange.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(TransportFault.ReplyTimeout, fault.Fault);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reply_without_end_is_refused_once_it_passes_the_reply_limit(bool http)
    {
        var time = new ObservableTime();
        await using var rig = new HostileRig(http ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" : string.Empty, flood: true, chunked: http);
        var endpoint = new RigEndpoint("127.0.0.1", rig.Port) { CommandTimeout = CommandTimeout };
        using var client = http ? new RigHttp(endpoint, time, digestAuth: false) : null;
        Task exchange = http
            ? client!.SendAsync(HttpMethod.Get, "/api/v1/miner/stats", null, null, null, null, CancellationToken.None)
            : (Task)new TcpRpcTransport(endpoint, time).ExchangeAsync("{\"command\":\"summary\"}"u8.ToArray(), ReplyFraming.NulOrClose, CancellationToken.None);

        var fault = await Assert.ThrowsAsync<RigTransportException>(() => exchange.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(TransportFault.InvalidReply, fault.Fault);
        await rig.WaitUntilClosedAsync();
        Assert.True(rig.Sent < 64L * 1024 * 1024, $"the client read {rig.Sent} bytes before giving up");
    }

    [Fact]
    public async Task The_outcome_of_a_read_cut_off_by_the_limits_is_a_failure_not_a_state()
    {
        var time = new ObservableTime();
        await using var rig = new HostileRig(string.Empty, flood: true);
        var client = new Cgminer.CgminerRigClient(new RigEndpoint("127.0.0.1", rig.Port) { CommandTimeout = CommandTimeout }, time);

        var read = await client.ReadStatusAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(read.Status);
        Assert.Equal(RigFailureReason.InvalidReply, read.Failure?.Reason);
    }

    /// <summary>
    /// A rig that reads the request, writes <c>prefix</c> (HTTP headers, or nothing), then either one byte each time the
    /// test asks (drip) or bytes without end until the client goes away (flood).
    /// </summary>
    private sealed class HostileRig : LoopbackServer<byte[]>
    {
        private readonly SemaphoreSlim _drip = new(0);
        private readonly SemaphoreSlim _dripped = new(0);
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly string _prefix;
        private readonly bool _flood;
        private readonly bool _chunked;
        private long _sent;

        public HostileRig(string prefix, bool flood, bool chunked = false)
        {
            _prefix = prefix;
            _flood = flood;
            _chunked = chunked;
            Start();
        }

        public long Sent => Interlocked.Read(ref _sent);

        /// <summary>Sends one more byte and waits until it has left (the total sent is then <paramref name="total"/>).</summary>
        public async Task DripAsync(int total)
        {
            _drip.Release();
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _dripped.WaitAsync(guard.Token);
            Assert.Equal(total, Sent);
        }

        public Task WaitUntilClosedAsync() => _closed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        protected override async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var request = new byte[4096];
                var read = await stream.ReadAsync(request, Stopping);
                Record(request[..read]);
                try
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(_prefix), Stopping);
                    if (_flood)
                    {
                        var chunk = Encoding.ASCII.GetBytes(new string('a', 64 * 1024));
                        var header = Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n");
                        var trailer = "\r\n"u8.ToArray();
                        while (true)
                        {
                            if (_chunked)
                            {
                                await stream.WriteAsync(header, Stopping);
                            }

                            await stream.WriteAsync(chunk, Stopping);
                            if (_chunked)
                            {
                                await stream.WriteAsync(trailer, Stopping);
                            }

                            Interlocked.Add(ref _sent, chunk.Length);
                        }
                    }

                    while (true)
                    {
                        await _drip.WaitAsync(Stopping);
                        await stream.WriteAsync(" "u8.ToArray(), Stopping);
                        Interlocked.Increment(ref _sent);
                        _dripped.Release();
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
                {
                    // The client went away (or the test ended).
                }
                finally
                {
                    _closed.TrySetResult();
                }
            }
        }

        protected override async ValueTask DisposeAsyncCore()
        {
            await base.DisposeAsyncCore();
            _drip.Dispose();
            _dripped.Dispose();
        }
    }
}
