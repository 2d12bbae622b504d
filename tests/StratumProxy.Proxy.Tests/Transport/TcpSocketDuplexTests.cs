using System.Net;
using System.Net.Sockets;
using System.Text;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Transport;

namespace StratumProxy.Proxy.Tests.Transport;

/// <summary>How the plain-TCP transport ends a stream: every byte the peer sent reaches the session, even when a reset follows.</summary>
public sealed class TcpSocketDuplexTests
{
    [Fact]
    public async Task A_reset_right_after_the_peers_last_line_ends_the_input_cleanly_after_that_line()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var connection = await SocketTransport.ConnectAsync(new PoolUrl("127.0.0.1", port, false), false, 64 * 1024, ct);
        using var pool = await listener.AcceptAsync(ct);

        // A pool answers a share it accepted and dies at once (a hard reset, as when its host goes down).
        const string answer = "{\"id\":7,\"result\":true,\"error\":null}\n";
        await pool.SendAsync(Encoding.ASCII.GetBytes(answer), SocketFlags.None, ct);
        pool.LingerState = new LingerOption(true, 0);
        pool.Close();

        // The transport sees the reset before the session reads: the answer must still be there.
        Assert.True(SpinWait.SpinUntil(() => connection.ReceiveError is not null, TimeSpan.FromSeconds(30)), "the reset was never seen");
        var input = connection.Transport.Input;
        var result = await input.ReadAsync(ct);
        Assert.Equal(answer, Encoding.ASCII.GetString(result.Buffer));
        input.AdvanceTo(result.Buffer.End);
        result = await input.ReadAsync(ct);
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Contains("reset", connection.ReceiveError!.Message, StringComparison.OrdinalIgnoreCase);
    }
}
