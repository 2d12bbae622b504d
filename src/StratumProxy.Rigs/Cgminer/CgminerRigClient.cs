using System.Globalization;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Cgminer;

/// <summary>
/// Upstream cgminer / bfgminer through the cgminer-compatible JSON API (TCP 4028). Upstream cgminer has no sleep or power
/// command: sleep disables every ASC/PGA device (<c>ascdisable|N</c>, <c>pgadisable|N</c>), wake enables them again.
/// Writes need a W: entry in <c>--api-allow</c>; otherwise the rig answers Code 45 and the result is AccessDenied.
/// </summary>
/// <remarks>
/// Verified against replies captured from real cgminer 4.11.1 (<c>summary+pools+config</c>, <c>pools</c>,
/// <c>switchpool</c>, <c>devs</c> with no device, Code 45 access denied). The <c>ascdisable</c>/<c>ascenable</c> replies and a
/// <c>devs</c> list with devices were not captured (no ASIC was attached): those paths follow api.c's message table only.
/// </remarks>
public sealed class CgminerRigClient : IRigClient
{
    private readonly CgminerApi _api;

    public CgminerRigClient(RigEndpoint endpoint, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _api = new CgminerApi(new TcpRpcTransport(endpoint, timeProvider));
    }

    public RigFamily Family => RigFamily.Cgminer;

    public RigCapabilities Capabilities =>
        RigCapabilities.ReadStatus | RigCapabilities.Sleep | RigCapabilities.Wake | RigCapabilities.SwitchPool;

    public RigEvidence Evidence => RigEvidence.CapturedReplies;

    public async Task<RigReadResult> ReadStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            var joined = await _api.CallAsync("summary+pools+config", null, cancellationToken);
            if (CgminerStatus.FailureOf(joined, "summary+pools+config") is { } topLevel && joined["summary"] is null)
            {
                return RigReadResult.Fail(topLevel);
            }

            var summary = CgminerParsing.Section(joined, "summary");
            var pools = CgminerParsing.Section(joined, "pools");
            var config = CgminerParsing.Section(joined, "config");
            if (summary is null || CgminerStatus.FailureOf(summary, "summary") is not null)
            {
                return RigReadResult.Fail(CgminerStatus.FailureOf(summary ?? joined, "summary")
                    ?? new RigFailed(RigFailureReason.InvalidReply, "summary section missing"));
            }

            var configRow = Json.JsonValues.First(config?["CONFIG"]);
            var deviceCount = (Json.JsonValues.Int(configRow?["ASC Count"]) ?? 0) + (Json.JsonValues.Int(configRow?["PGA Count"]) ?? 0);
            IReadOnlyList<CgminerDevice> devices = [];
            if (deviceCount > 0)
            {
                var devs = await _api.CallAsync("devs", null, cancellationToken);
                devices = CgminerParsing.Devices(devs);
            }

            var asleep = devices.Count > 0 && devices.All(d => !d.Enabled);
            return RigReadResult.Ok(new CgminerSummary(summary, pools).Status(asleep));
        }
        catch (RigTransportException ex)
        {
            return RigReadResult.Fail(Outcomes.ReadFailure(ex));
        }
    }

    public Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        SetDevicesAsync(enable: false, new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        SetDevicesAsync(enable: true, new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(Outcomes.Unsupported(Family, "power target"));

    public Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(Outcomes.Unsupported(Family, "work mode"));

    public Task<RigCommandResult> SwitchPoolAsync(int poolIndex, CancellationToken cancellationToken) =>
        SwitchPoolAsync(_api, poolIndex, cancellationToken);

    /// <summary>switchpool|N as every cgminer-derived firmware implements it (no session, W: access needed).</summary>
    internal static async Task<RigCommandResult> SwitchPoolAsync(CgminerApi api, int poolIndex, CancellationToken cancellationToken)
    {
        var expected = new RigExpectation { ActivePoolIndex = poolIndex };
        var parameter = poolIndex.ToString(CultureInfo.InvariantCulture);
        try
        {
            var reply = await api.CallAsync("switchpool", parameter, cancellationToken);
            return CgminerStatus.FailureOf(reply, "switchpool") as RigCommandResult
                ?? new RigUnconfirmed(expected, Acknowledged: true, $"switchpool|{parameter}: {CgminerStatus.Read(reply)}");
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, $"switchpool|{parameter}");
        }
    }

    private async Task<RigCommandResult> SetDevicesAsync(bool enable, RigExpectation expected, CancellationToken cancellationToken)
    {
        var verb = enable ? "enable" : "disable";
        var anySent = false;
        var done = new List<string>();
        try
        {
            var devs = await _api.CallAsync("devs", null, cancellationToken);
            var devices = CgminerParsing.Devices(devs);
            if (devices.Count == 0)
            {
                return CgminerStatus.FailureOf(devs, "devs") is { Reason: RigFailureReason.AccessDenied } denied
                    ? denied
                    : new RigUnsupported($"cgminer reports no ASC or PGA device to {verb} ({CgminerStatus.Read(devs)})");
            }

            foreach (var device in devices.Where(d => d.Enabled != enable))
            {
                var command = device.Kind.ToLowerInvariant() + verb;
                var parameter = device.Id.ToString(CultureInfo.InvariantCulture);
                JsonObject reply;
                try
                {
                    anySent = true;
                    reply = await _api.CallAsync(command, parameter, cancellationToken);
                }
                catch (RigTransportException ex)
                {
                    return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: done.Count > 0, expected, $"{command}|{parameter}");
                }

                if (CgminerStatus.FailureOf(reply, $"{command}|{parameter}") is { } failure)
                {
                    return done.Count == 0
                        ? failure
                        : new RigUnconfirmed(expected, Acknowledged: true, $"{string.Join(", ", done)} done; then {failure.Detail}");
                }

                done.Add($"{command}|{parameter}");
            }

            return new RigUnconfirmed(expected, Acknowledged: true, done.Count == 0
                ? $"every device already {verb}d"
                : string.Join(", ", done));
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: false, earlierWriteSent: anySent, expected, "devs");
        }
    }
}
