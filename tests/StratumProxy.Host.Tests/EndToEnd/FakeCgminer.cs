using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.TestKit;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// A cgminer 4.11.1 RPC server on 127.0.0.1:0 with ASC devices whose enabled flag it keeps: one request per connection,
/// the reply in the captured shape (tests/vectors/rig-api-examples.json, family "cgminer") ending in a NUL, then close.
/// Every request is recorded as received. Replies that were not captured (devs with devices, ascdisable/ascenable)
/// follow api.c's message table: MSG_ASCDIS 111 "ASC %d set disable flag", MSG_ASCENA 110 "ASC %d sent enable message",
/// MSG_ASCLRDIS 109 / MSG_ASCLRENA 108 "already", all SEVERITY_INFO; devs answers MSG_NUMASC 9 "%d ASC(s)".
/// </summary>
internal sealed class FakeCgminer : LoopbackServer<string>
{
    private const string Description = "cgminer 4.11.1";
    private readonly bool[] _enabled;
    private readonly double _mhs;
    private readonly Lock _lock = new();

    public FakeCgminer(int devices, double megahashesPerSecond)
    {
        _enabled = Enumerable.Repeat(true, devices).ToArray();
        _mhs = megahashesPerSecond;
        Start();
    }

    public string Address => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Raised (on the server's thread) when the last enabled device is disabled, or the first one enabled again.</summary>
    public event Action<bool>? PowerChanged;

    public bool[] Enabled
    {
        get
        {
            lock (_lock)
            {
                return [.. _enabled];
            }
        }
    }

    /// <summary>
    /// Enables or disables every device at once, as someone at the rig (or its watchdog, or a firmware reboot) would,
    /// behind the proxy's back.
    /// </summary>
    public void SetAll(bool enabled)
    {
        bool changed;
        lock (_lock)
        {
            var wasRunning = _enabled.Any(e => e);
            Array.Fill(_enabled, enabled);
            changed = wasRunning != enabled;
        }

        if (changed)
        {
            PowerChanged?.Invoke(enabled);
        }
    }

    /// <summary>True while at least one device is enabled (the rig hashes).</summary>
    public bool Running
    {
        get
        {
            lock (_lock)
            {
                return _enabled.Any(e => e);
            }
        }
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream);
                Record(request);
                var reply = Answer(request);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\0"), Stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
            }
        }
    }

    private async Task<string> ReadRequestAsync(NetworkStream stream)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(chunk, Stopping);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            try
            {
                using var _ = JsonDocument.Parse(buffer.ToArray());
                break;
            }
            catch (JsonException)
            {
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private string Answer(string request)
    {
        var json = JsonNode.Parse(request)!.AsObject();
        var command = (string?)json["command"] ?? string.Empty;
        var parameter = json["parameter"]?.ToString();
        var when = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        lock (_lock)
        {
            switch (command)
            {
                case "devs":
                    return Status("S", when, 9, $"{_enabled.Length} ASC(s)") + ",\"DEVS\":[" + string.Join(",", _enabled.Select((on, i) => Device(i, on))) + "],\"id\":1}";
                case "summary":
                    return Summary(CapturedReply("cgminer.summary.json"));
                case "summary+pools+config":
                    return Summary(CapturedReply("cgminer.joined.summary_pools_config"))
                        .Replace("\"ASC Count\":0", "\"ASC Count\":" + _enabled.Length.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
                case "ascdisable" or "ascenable" when int.TryParse(parameter, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 0 && id < _enabled.Length:
                    return Toggle(id, command == "ascenable", when);
                case "ascdisable" or "ascenable":
                    return Status("E", when, 107, $"Invalid ASC id {parameter} - range is 0 - {_enabled.Length - 1}") + ",\"id\":1}";
                default:
                    return "{\"STATUS\":[{\"STATUS\":\"E\",\"When\":" + when + ",\"Code\":14,\"Msg\":\"Invalid command\"}],\"id\":1}";
            }
        }
    }

    private string Toggle(int id, bool enable, string when)
    {
        if (_enabled[id] == enable)
        {
            return Status("I", when, enable ? 108 : 109, $"ASC {id} already {(enable ? "enabled" : "disabled")}") + ",\"id\":1}";
        }

        var wasRunning = _enabled.Any(e => e);
        _enabled[id] = enable;
        var running = _enabled.Any(e => e);
        if (running != wasRunning)
        {
            PowerChanged?.Invoke(running);
        }

        return Status("I", when, enable ? 110 : 111, enable ? $"ASC {id} sent enable message" : $"ASC {id} set disable flag") + ",\"id\":1}";
    }

    /// <summary>The captured summary, with the hash rate the devices give now (0 when all are disabled).</summary>
    private string Summary(string captured)
    {
        var mhs = _enabled.Any(e => e) ? (_mhs * _enabled.Count(e => e) / _enabled.Length).ToString("0.00", CultureInfo.InvariantCulture) : "0.00";
        return captured.Replace("\"MHS 5s\":0.00", "\"MHS 5s\":" + mhs, StringComparison.Ordinal)
            .Replace("\"MHS av\":0.00", "\"MHS av\":" + mhs, StringComparison.Ordinal);
    }

    private static string Device(int id, bool enabled) => string.Create(
        CultureInfo.InvariantCulture,
        $"{{\"ASC\":{id},\"Name\":\"ICA\",\"ID\":{id},\"Enabled\":\"{(enabled ? "Y" : "N")}\",\"Status\":\"Alive\",\"Temperature\":0.00,\"MHS av\":0.00,\"MHS 5s\":0.00,\"Accepted\":0,\"Rejected\":0,\"Hardware Errors\":0}}");

    private static string Status(string severity, string when, int code, string message) =>
        "{\"STATUS\":[{\"STATUS\":\"" + severity + "\",\"When\":" + when + ",\"Code\":" + code.ToString(CultureInfo.InvariantCulture) + ",\"Msg\":\"" + message + "\",\"Description\":\"" + Description + "\"}]";

    /// <summary>A captured reply from the vectors, without its NUL terminator.</summary>
    internal static string CapturedReply(string id)
    {
        foreach (var example in Vectors.Value["families"]!["cgminer"]!["examples"]!.AsArray())
        {
            if ((string?)example!["id"] == id)
            {
                return ((string)example["response"]!["payload"]!).TrimEnd('\0');
            }
        }

        throw new KeyNotFoundException(id);
    }

    private static readonly Lazy<JsonNode> Vectors = new(() => JsonNode.Parse(File.ReadAllText(LocateVectors()))!);

    // tests/vectors/*.json are copied beside the test assembly by the build.
    private static string LocateVectors() => Path.Combine(AppContext.BaseDirectory, "vectors", "rig-api-examples.json");
}
