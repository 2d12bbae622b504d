using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// The real executable near its open-file limit (lowered under it, as a fleet larger than the limit does): miners over
/// the budget are refused at accept, with the reason, and the process keeps the last descriptors for itself. Run into
/// the limit instead, the runtime cannot start a thread and the process dies ("Out of memory.").
/// </summary>
public sealed class DescriptorLimitProcessTests : IDisposable
{
    private const int OpenFileLimit = 7; // RLIMIT_NOFILE on Linux

    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-fd-limit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Near_its_open_file_limit_it_refuses_miners_with_the_reason_stays_up_and_takes_them_again_once_raised()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var token = guard.Token;
        await using var pool = await TestPool.StartAsync(new TestPoolOptions { Difficulty = 1e-5 });
        await using var proxy = await ProxyProcess.StartAsync(
            _directory, ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--pool", pool.Url, "--user", "acct"], token);
        await proxy.WaitForLogAsync("ready at stratum", token);

        // Room for 200 more descriptors (the soft limit; the hard one stays, so it can be raised back), and more
        // miners than that: without the budget they take every descriptor left and the process dies.
        var open = Directory.GetFileSystemEntries($"/proc/{proxy.Id}/fd").Length;
        var original = SetSoftOpenFileLimit(proxy.Id, (ulong)open + 200);
        var miners = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 260; i++)
            {
                var miner = new TcpClient();
                miners.Add(miner);
                await miner.ConnectAsync(IPAddress.Loopback, proxy.MinerPort, token);
            }

            await proxy.WaitForLogAsync("is nearly reached", token);
            Assert.Contains("raise it (ulimit -n, systemd LimitNOFILE)", proxy.Output, StringComparison.Ordinal);

            // Accepts go on (the refused are closed), and the process lives on with descriptors to spare.
            await Task.Delay(TimeSpan.FromSeconds(2), token);
            Assert.False(proxy.HasExited, "the proxy exited: " + proxy.Output);
            Assert.True(Directory.GetFileSystemEntries($"/proc/{proxy.Id}/fd").Length < open + 200 - 64);
        }
        finally
        {
            if (!proxy.HasExited)
            {
                SetSoftOpenFileLimit(proxy.Id, original);
            }

            foreach (var miner in miners)
            {
                miner.Dispose();
            }
        }

        // Raised again: a new miner is taken and answered.
        using var late = new TcpClient();
        await late.ConnectAsync(IPAddress.Loopback, proxy.MinerPort, token);
        var stream = late.GetStream();
        await stream.WriteAsync("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"fd-test/1.0\"]}\n"u8.ToArray(), token);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        Assert.StartsWith("{\"id\":1,\"result\":[", await reader.ReadLineAsync(token), StringComparison.Ordinal);
    }

    /// <summary>Sets another process's soft open-file limit; returns the soft limit it had.</summary>
    private static ulong SetSoftOpenFileLimit(int pid, ulong soft)
    {
        if (Prlimit(pid, OpenFileLimit, IntPtr.Zero, out var current) != 0)
        {
            throw new InvalidOperationException($"prlimit({pid}) read failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var wanted = new RLimit { Current = soft, Maximum = current.Maximum };
        if (SetLimit(pid, OpenFileLimit, ref wanted, out _) != 0)
        {
            throw new InvalidOperationException($"prlimit({pid}, {soft}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return current.Current;
    }

    [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static extern int Prlimit(int pid, int resource, IntPtr newLimit, out RLimit oldLimit);

    [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static extern int SetLimit(int pid, int resource, ref RLimit newLimit, out RLimit oldLimit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
