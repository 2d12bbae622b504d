using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StratumProxy.Rigs.Tests.Infrastructure;

/// <summary>What the fake rig does with one connection.</summary>
internal abstract record ReplayStep
{
    public static ReplayStep Reply(byte[] bytes) => new ReplyStep(bytes);

    public static ReplayStep Reply(string text) => new ReplyStep(Encoding.UTF8.GetBytes(text));

    /// <summary>Accepts, reads the request, never answers (until the test ends).</summary>
    public static ReplayStep Silent() => new SilentStep();

    /// <summary>Reads the request and closes without a byte.</summary>
    public static ReplayStep Close() => new CloseStep();
}

internal sealed record ReplyStep(byte[] Bytes) : ReplayStep;

internal sealed record SilentStep : ReplayStep;

internal sealed record CloseStep : ReplayStep;

/// <summary>
/// A real TCP server on 127.0.0.1 (port 0) that plays a rig: one connection per request, the request recorded byte for
/// byte, the scripted reply written back byte for byte, then the connection closed (as cgminer does).
/// </summary>
internal sealed class ReplayServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<ReplayStep> _steps = new();
    private readonly ConcurrentQueue<byte[]> _requests = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _lengthPrefixed;
    private readonly Task _loop;

    public ReplayServer(bool lengthPrefixed = false, params ReplayStep[] steps)
    {
        _lengthPrefixed = lengthPrefixed;
        foreach (var step in steps)
        {
            _steps.Enqueue(step);
        }

        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public ReplayServer(params ReplayStep[] steps)
        : this(false, steps)
    {
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The command timeout is an odd 29 s so it never collides with a read-back delay a test waits for.</summary>
    public RigEndpoint Endpoint => new("127.0.0.1", Port) { CommandTimeout = TimeSpan.FromSeconds(29) };

    public IReadOnlyList<byte[]> Requests => [.. _requests];

    public IReadOnlyList<string> RequestTexts => [.. _requests.Select(r => Encoding.UTF8.GetString(r))];

    public void Enqueue(params ReplayStep[] steps)
    {
        foreach (var step in steps)
        {
            _steps.Enqueue(step);
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests in total have arrived (real-time guard against hangs).</summary>
    public async Task WaitForRequestsAsync(int count)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (_requests.Count < count)
        {
            await _received.WaitAsync(guard.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _received.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = _lengthPrefixed ? await ReadFrameAsync(stream) : await ReadJsonOrTextAsync(stream);
                var step = _steps.TryDequeue(out var next) ? next : ReplayStep.Close();
                _requests.Enqueue(request);
                _received.Release();
                switch (step)
                {
                    case ReplyStep reply:
                        await stream.WriteAsync(reply.Bytes, _stop.Token);
                        break;
                    case SilentStep:
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                        break;
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
            }
        }
    }

    private async Task<byte[]> ReadJsonOrTextAsync(NetworkStream stream)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(chunk, _stop.Token);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            buffer.Write(chunk, 0, read);
            if (IsCompleteJson(buffer.ToArray()))
            {
                return buffer.ToArray();
            }
        }
    }

    private static bool IsCompleteJson(byte[] bytes)
    {
        try
        {
            using var _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task<byte[]> ReadFrameAsync(NetworkStream stream)
    {
        var header = new byte[4];
        await stream.ReadExactlyAsync(header, _stop.Token);
        var body = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header)];
        await stream.ReadExactlyAsync(body, _stop.Token);
        return [.. header, .. body];
    }
}
