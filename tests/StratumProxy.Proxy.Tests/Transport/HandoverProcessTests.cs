using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Threading.Channels;
using StratumProxy.Proxy.Transport;
using StratumProxy.TestKit;

namespace StratumProxy.Proxy.Tests.Transport;

/// <summary>
/// The real cross-process case: this test process hands a live miner connection (with bytes the session had not read)
/// and its listening socket to a child process over a <see cref="HandoverChannel"/>; the child serves both on.
/// The child is this test assembly started again (<c>dotnet exec</c>) with <see cref="HandoverSuccessor"/> as a
/// startup hook, which runs instead of the assembly's empty entry point.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HandoverProcessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("handover-process-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task AChildProcess_TakesAMinerConnectionAndTheListener_TheMinerSeesOneUnbrokenStream()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        var path = Path.Combine(_directory, "handover.sock");
        var listener = SocketListenerFactory.Instance.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = listener.LocalEndPoint;
        var accepting = listener.AcceptAsync(4096, AdmitAll.Instance, ct);
        var miner = await LineClient.ConnectAsync(endpoint, ct);
        var old = await accepting ?? throw new InvalidOperationException("no connection");

        // The session here answers five lines and leaves five unread.
        await miner.SendLinesAsync("c", 1, 10, ct);
        await AnswerAsync(old.Transport.Input, old.Transport.Output, 5, ct);
        await NumberedLines.WaitUntilBufferedAsync(old.Transport.Input, 5, ct);

        await using var handover = HandoverChannel.Listen(path);
        using var child = StartSuccessor(path);
        await using var channel = await handover.AcceptAsync(ct);
        Assert.Equal(child.Id, channel.PeerProcessId);

        var detached = await old.DetachAsync(ct);
        using (var listening = listener.DetachListener())
        using (detached.Handle)
        {
            await channel.SendAsync(detached.UnreadInput, [detached.Handle, listening], ct);
        }

        await old.DisposeAsync();
        await listener.DisposeAsync();
        using (var adopted = await channel.ReceiveAsync(ct))
        {
            Assert.Equal("adopted", Encoding.ASCII.GetString(adopted.Payload));
        }

        // The child answers the five lines left unread here, then everything after; a new miner reaches it too.
        await miner.SendLinesAsync("c", 11, 12, ct);
        Assert.Equal(NumberedLines.Of("s", 1, 12), await miner.ReadLinesAsync(12, ct));
        await using (var second = await LineClient.ConnectAsync(endpoint, ct))
        {
            Assert.Equal(["hello from the successor"], await second.ReadLinesAsync(1, ct));
        }

        await miner.SendLinesAsync("quit", 1, 1, ct);
        Assert.Equal(["bye"], await miner.ReadLinesAsync(1, ct));
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await miner.ReadLinesAsync(1, ct));
        Assert.False(miner.EndedByReset);
        await miner.DisposeAsync();
        await child.WaitForExitAsync(ct);
        Assert.True(child.ExitCode == 0, await child.StandardError.ReadToEndAsync(ct));
    }

    internal static async Task<bool> AnswerAsync(PipeReader input, PipeWriter output, int count, CancellationToken ct)
    {
        foreach (var line in await NumberedLines.ReadAsync(input, count, ct))
        {
            if (line.StartsWith("quit", StringComparison.Ordinal))
            {
                await output.WriteAsync("bye\n"u8.ToArray(), ct);
                return false;
            }

            await output.WriteAsync(Encoding.ASCII.GetBytes(NumberedLines.Line("s", int.Parse(line.AsSpan(1), provider: null)) + "\n"), ct);
        }

        return true;
    }

    private static Process StartSuccessor(string path)
    {
        var assembly = typeof(HandoverProcessTests).Assembly.Location;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet && File.Exists(dotnet) ? dotnet : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        start.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
        start.Environment[HandoverSuccessor.PathVariable] = path;
        return Process.Start(start) ?? throw new InvalidOperationException("The successor did not start.");
    }
}

/// <summary>The successor's side of <see cref="HandoverProcessTests"/>, run in the child process.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class HandoverSuccessor
{
    public const string PathVariable = "STRATUMPROXY_TEST_HANDOVER_SUCCESSOR";

    public static async Task<int> RunAsync(string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        var ct = timeout.Token;
        await using var channel = await HandoverChannel.ConnectAsync(path, ct);
        using var message = await channel.ReceiveAsync(ct);
        await using var connection = SocketTransport.AdoptMiner(message.Handles[0], message.Payload, 4096);
        await using var listener = SocketListenerFactory.Instance.Adopt(message.Handles[1]);
        await channel.SendAsync("adopted"u8.ToArray(), [], ct);

        var greeting = GreetOneAsync(listener, ct);
        while (await HandoverProcessTests.AnswerAsync(connection.Transport.Input, connection.Transport.Output, 1, ct))
        {
        }

        await connection.Transport.Output.CompleteAsync();
        await UntilClosedAsync(connection.Transport.Input, ct);
        await greeting;
        return 0;
    }

    /// <summary>Reads until the peer closes: a dispose right after the last write could cut it off.</summary>
    private static async Task UntilClosedAsync(PipeReader input, CancellationToken ct)
    {
        while (true)
        {
            var result = await input.ReadAsync(ct);
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    private static async Task GreetOneAsync(IConnectionListener listener, CancellationToken ct)
    {
        await using var connection = await listener.AcceptAsync(4096, AdmitAll.Instance, ct)
            ?? throw new InvalidOperationException("The adopted listener accepted nothing.");
        await connection.Transport.Output.WriteAsync("hello from the successor\n"u8.ToArray(), ct);
        await connection.Transport.Output.CompleteAsync();
        await UntilClosedAsync(connection.Transport.Input, ct);
    }
}
