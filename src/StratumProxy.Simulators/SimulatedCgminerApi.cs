using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StratumProxy.Simulators;

/// <summary>
/// A rig's management API in cgminer 4.11.1's shape (TCP, one JSON request per connection, the reply ends in a NUL,
/// then close): <c>version</c>, <c>summary</c>, <c>pools</c>, <c>config</c>, <c>devs</c>, joined commands such as
/// <c>summary+pools+config</c>, and <c>ascdisable|N</c> / <c>ascenable|N</c>, which disable and enable the rig's hash
/// boards. Field names, order and STATUS codes follow replies captured from real cgminer 4.11.1; the device list and
/// the ASC enable/disable messages follow cgminer's api.c message table (MSG_NUMASC 9, MSG_ASCENA 110, MSG_ASCDIS 111,
/// MSG_ASCLRENA 108, MSG_ASCLRDIS 109, MSG_INVASC 107, MSG_INVCMD 14).
/// </summary>
public sealed class SimulatedCgminerApi : IAsyncDisposable
{
    private const string Description = "cgminer 4.11.1";
    private readonly LoopbackListener _server;
    private readonly SimulatedRig _rig;
    private readonly string _poolUrl;
    private readonly TimeProvider _time;

    /// <summary>Starts the API of <paramref name="rig"/> on 127.0.0.1 and a free port.</summary>
    public SimulatedCgminerApi(SimulatedRig rig, string poolUrl, TimeProvider time)
    {
        _rig = rig;
        _poolUrl = poolUrl;
        _time = time;
        _server = new LoopbackListener(ServeAsync);
    }

    /// <summary>HOST:PORT of the API.</summary>
    public string Address => "127.0.0.1:" + _server.Port;

    /// <summary>One request, one reply (NUL-terminated, as cgminer writes it); an unreadable request gets Invalid JSON.</summary>
    private Task ServeAsync(TcpClient client) => LoopbackListener.ReplyOnceAsync(
        client,
        request => TryAnswer(request.Span) is { } reply ? Encoding.UTF8.GetBytes(reply + "\0") : null,
        _ => Encoding.UTF8.GetBytes(Status("E", 23, "Invalid JSON") + ",\"id\":1}\0"),
        _server.Stopping);

    /// <summary>The reply to a complete JSON request, or null while the request is incomplete.</summary>
    private string? TryAnswer(ReadOnlySpan<byte> request)
    {
        string command;
        string? parameter;
        try
        {
            using var json = JsonDocument.Parse(request.ToArray());
            command = json.RootElement.TryGetProperty("command", out var c) ? c.GetString() ?? string.Empty : string.Empty;
            parameter = json.RootElement.TryGetProperty("parameter", out var p) ? (p.ValueKind == JsonValueKind.String ? p.GetString() : p.GetRawText()) : null;
        }
        catch (JsonException)
        {
            return null;
        }

        if (command.Contains('+', StringComparison.Ordinal))
        {
            // Joined read commands: {"summary":[{…}],"pools":[{…}],…,"id":1}.
            var parts = command.Split('+');
            return "{" + string.Join(",", parts.Select(part => "\"" + part + "\":[" + Answer(part, null) + "]")) + ",\"id\":1}";
        }

        return Answer(command, parameter);
    }

    private string Answer(string command, string? parameter)
    {
        switch (command)
        {
            case "version":
                return Status("S", 22, "CGMiner versions") + ",\"VERSION\":[{\"CGMiner\":\"4.11.1\",\"API\":\"3.7\"}],\"id\":1}";
            case "summary":
                return Status("S", 11, "Summary") + ",\"SUMMARY\":[" + Summary() + "],\"id\":1}";
            case "pools":
                return Status("S", 7, "1 Pool(s)") + ",\"POOLS\":[" + Pool() + "],\"id\":1}";
            case "config":
                return Status("S", 33, "CGMiner config") + ",\"CONFIG\":[{\"ASC Count\":" + Int(_rig.Boards.Count) + ",\"PGA Count\":0,\"Pool Count\":1,\"Strategy\":\"Failover\",\"Log Interval\":5,\"Device Code\":\"ICA \",\"OS\":\"Linux\",\"Hotplug\":\"Disabled\"}],\"id\":1}";
            case "devs":
                var boards = _rig.Boards;
                return Status("S", 9, Int(boards.Count) + " ASC(s)") + ",\"DEVS\":[" + string.Join(",", boards.Select((on, i) => Device(i, on, boards.Count))) + "],\"id\":1}";
            case "ascenable" or "ascdisable":
                var enable = command == "ascenable";
                var count = _rig.Boards.Count;
                if (!int.TryParse(parameter, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 0 || id >= count)
                {
                    return Status("E", 107, $"Invalid ASC id {parameter} - range is 0 - {count - 1}") + ",\"id\":1}";
                }

                if (_rig.Boards[id] == enable)
                {
                    return Status("I", enable ? 108 : 109, $"ASC {id} already {(enable ? "enabled" : "disabled")}") + ",\"id\":1}";
                }

                _rig.SetBoard(id, enable);
                return Status("I", enable ? 110 : 111, enable ? $"ASC {id} sent enable message" : $"ASC {id} set disable flag") + ",\"id\":1}";
            default:
                return "{\"STATUS\":[{\"STATUS\":\"E\",\"When\":" + When() + ",\"Code\":14,\"Msg\":\"Invalid command\"}],\"id\":1}";
        }
    }

    private string Summary()
    {
        var elapsed = Math.Max(1, (long)(_time.GetUtcNow() - _rig.Started).TotalSeconds);
        var mhs = Mhs(_rig.CurrentHashesPerSecond / 1e6);
        var average = Mhs(_rig.Hashes / 1e6 / elapsed);
        return "{\"Elapsed\":" + Int(elapsed) + ",\"MHS av\":" + average + ",\"MHS 5s\":" + mhs + ",\"MHS 1m\":" + mhs + ",\"MHS 5m\":" + mhs + ",\"MHS 15m\":" + mhs
            + ",\"Found Blocks\":0,\"Getworks\":1,\"Accepted\":" + Int(_rig.Accepted) + ",\"Rejected\":" + Int(_rig.Rejected)
            + ",\"Hardware Errors\":0,\"Utility\":0.00,\"Discarded\":0,\"Stale\":0,\"Get Failures\":0,\"Local Work\":0,\"Remote Failures\":0,\"Network Blocks\":0"
            + ",\"Total MH\":" + (_rig.Hashes / 1e6).ToString("0.0000", CultureInfo.InvariantCulture) + ",\"Work Utility\":0.00"
            + ",\"Difficulty Accepted\":" + _rig.DifficultyAccepted.ToString("0.00000000", CultureInfo.InvariantCulture)
            + ",\"Difficulty Rejected\":0.00000000,\"Difficulty Stale\":0.00000000,\"Best Share\":0,\"Device Hardware%\":0.0000,\"Device Rejected%\":0.0000,\"Pool Rejected%\":0.0000,\"Pool Stale%\":0.0000,\"Last getwork\":" + When() + "}";
    }

    private string Pool() =>
        "{\"POOL\":0,\"URL\":\"" + _poolUrl + "\",\"Status\":\"Alive\",\"Priority\":0,\"Quota\":1,\"Long Poll\":\"N\",\"Getworks\":1,\"Accepted\":" + Int(_rig.Accepted)
        + ",\"Rejected\":" + Int(_rig.Rejected) + ",\"Works\":1,\"Discarded\":0,\"Stale\":0,\"Get Failures\":0,\"Remote Failures\":0,\"User\":\"" + _rig.Worker
        + "\",\"Last Share Time\":0,\"Diff1 Shares\":0,\"Proxy Type\":\"\",\"Proxy\":\"\",\"Difficulty Accepted\":" + _rig.DifficultyAccepted.ToString("0.00000000", CultureInfo.InvariantCulture)
        + ",\"Difficulty Rejected\":0.00000000,\"Difficulty Stale\":0.00000000,\"Last Share Difficulty\":0.00000000,\"Work Difficulty\":" + _rig.CurrentDifficulty.ToString("0.00000000", CultureInfo.InvariantCulture)
        + ",\"Has Stratum\":true,\"Stratum Active\":true,\"Stratum URL\":\"127.0.0.1\",\"Stratum Difficulty\":" + _rig.CurrentDifficulty.ToString("0.00000000", CultureInfo.InvariantCulture)
        + ",\"Has Vmask\":false,\"Has GBT\":false,\"Best Share\":0,\"Pool Rejected%\":0.0000,\"Pool Stale%\":0.0000,\"Bad Work\":0,\"Current Block Height\":0,\"Current Block Version\":536870912}";

    private string Device(int id, bool enabled, int count)
    {
        var mhs = Mhs(enabled ? _rig.HashesPerSecond / count / 1e6 : 0);
        return "{\"ASC\":" + Int(id) + ",\"Name\":\"ICA\",\"ID\":" + Int(id) + ",\"Enabled\":\"" + (enabled ? "Y" : "N") + "\",\"Status\":\"Alive\",\"Temperature\":" + (enabled ? "62.00" : "31.00")
            + ",\"MHS av\":" + mhs + ",\"MHS 5s\":" + mhs + ",\"Accepted\":0,\"Rejected\":0,\"Hardware Errors\":0}";
    }

    private string Status(string severity, int code, string message) =>
        "{\"STATUS\":[{\"STATUS\":\"" + severity + "\",\"When\":" + When() + ",\"Code\":" + Int(code) + ",\"Msg\":\"" + message + "\",\"Description\":\"" + Description + "\"}]";

    private string When() => _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Mhs(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
