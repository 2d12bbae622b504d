using System.Text.Json;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Cgminer;

/// <summary>The cgminer-compatible JSON API on TCP 4028: one request per connection, reply ends at NUL or close.</summary>
internal sealed class CgminerApi(TcpRpcTransport transport, string commandKey = "command")
{
    // api.c reads the request with one recv() of at most 4095 bytes.
    private const int MaxRequestBytes = 4095;

    public TcpRpcTransport Transport => transport;

    public async Task<JsonObject> CallAsync(string command, string? parameter, CancellationToken cancellationToken)
    {
        var request = BuildRequest(command, parameter, commandKey);
        var reply = await transport.ExchangeAsync(request, ReplyFraming.NulOrClose, cancellationToken);
        return LenientJson.ParseObject(reply);
    }

    public static byte[] BuildRequest(string command, string? parameter, string commandKey = "command")
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, LenientJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString(commandKey, command);
            if (parameter is not null)
            {
                writer.WriteString("parameter", parameter);
            }

            writer.WriteEndObject();
        }

        return buffer.Length <= MaxRequestBytes
            ? buffer.ToArray()
            : throw new ArgumentException($"request for '{command}' is {buffer.Length} bytes; the API reads at most {MaxRequestBytes}", nameof(parameter));
    }
}

/// <summary>The STATUS of a cgminer-style reply: S success, I info, W warning, E error, F fatal.</summary>
internal readonly record struct CgminerStatus(string Severity, int? StatusCode, string Message)
{
    public const int AccessDeniedCode = 45;

    public bool IsSuccess => Severity is "S" or "I";

    /// <summary>Reads STATUS as cgminer writes it (an array of one object) or as Whatsminer v2 does (fields at top level).</summary>
    public static CgminerStatus? Read(JsonObject reply)
    {
        var node = reply["STATUS"];
        if (node is JsonValue)
        {
            return new CgminerStatus(JsonValues.String(node) ?? "", JsonValues.Int(reply["Code"]), MessageOf(reply["Msg"]));
        }

        return JsonValues.First(node) is { } status
            ? new CgminerStatus(JsonValues.String(status["STATUS"]) ?? "", JsonValues.Int(status["Code"]), MessageOf(status["Msg"]))
            : null;
    }

    public static RigFailed? FailureOf(JsonObject reply, string command, params int[] accessDeniedCodes)
    {
        if (Read(reply) is not { } status)
        {
            return new RigFailed(RigFailureReason.InvalidReply, $"{command}: reply has no STATUS");
        }

        if (status.IsSuccess)
        {
            return null;
        }

        return status.StatusCode is { } code && (code == AccessDeniedCode || accessDeniedCodes.Contains(code))
            ? new RigFailed(RigFailureReason.AccessDenied, $"{command}: {status}")
            : new RigFailed(RigFailureReason.Rejected, $"{command}: {status}");
    }

    public override string ToString() => FormattableString.Invariant($"{Severity} {StatusCode} {Message}");

    private static string MessageOf(JsonNode? node) => node is JsonValue ? JsonValues.String(node) ?? "" : node?.ToJsonString() ?? "";
}
