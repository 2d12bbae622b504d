using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StratumProxy.TestKit;

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
internal sealed class ReplayServer : LoopbackServer<byte[]>
{
    private readonly ConcurrentQueue<ReplayStep> _steps = new();
    private readonly bool _lengthPrefixed;

    public ReplayServer(bool lengthPrefixed = false, params ReplayStep[] steps)
    {
        _lengthPrefixed = lengthPrefixed;
        foreach (var step in steps)
        {
            _steps.Enqueue(step);
        }

        Start();
    }

    public ReplayServer(params ReplayStep[] steps)
        : this(false, steps)
    {
    }

    /// <summary>The command timeout is an odd 29 s so it never collides with a read-back delay a test waits for.</summary>
    public RigEndpoint Endpoint => new("127.0.0.1", Port) { CommandTimeout = TimeSpan.FromSeconds(29) };

    public IReadOnlyList<string> RequestTexts => [.. Requests.Select(r => Encoding.UTF8.GetString(r))];

    public void Enqueue(params ReplayStep[] steps)
    {
        foreach (var step in steps)
        {
            _steps.Enqueue(step);
        }
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = _lengthPrefixed ? await ReadFrameAsync(stream) : await ReadJsonOrTextAsync(stream);
                var step = _steps.TryDequeue(out var next) ? next : ReplayStep.Close();
                Record(request);
                switch (step)
                {
                    case ReplyStep reply:
                        await stream.WriteAsync(reply.Bytes, Stopping);
                        break;
                    case SilentStep:
                        await Task.Delay(Timeout.Infinite, Stopping);
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
            var read = await stream.ReadAsync(chunk, Stopping);
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
        await stream.ReadExactlyAsync(header, Stopping);
        var body = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header)];
        await stream.ReadExactlyAsync(body, Stopping);
        return [.. header, .. body];
    }
}
