using System.Globalization;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.LuxOs;

/// <summary>
/// LuxOS (LUXminer) through its cgminer-compatible API on TCP 4028. Writes need a session: <c>logon</c> returns a
/// SessionID that goes first in the parameter of every session command. The firmware holds ONE session at a time and
/// expires it 60 s after its last use; a refused logon (Code 402, "Another session is active") is reported as Busy and
/// the other session is left alone (never killed). Sleep/wake are <c>curtail</c> sleep/wakeup; the power target picks a
/// profile by watts (<c>profileset</c> with a "NNNNW" selector).
/// </summary>
/// <remarks>
/// Reads (summary, pools, config, power) are checked against library fixtures recorded from an S19k Pro. The session,
/// curtail and profileset exchanges come from vendor documentation examples only (the busy reply's exact bytes are not
/// recorded). Whether a "3000W" selector's reply names the resolved profile is not recorded: if it does not, the write
/// stays unconfirmed. Advanced Thermal Management may move the profile afterwards; this adapter does not change ATM.
/// Not thread-safe on its own: <see cref="RigCommander"/> runs one command at a time per rig.
/// </remarks>
public sealed class LuxOsRigClient : CgminerFamilyClient
{
    /// <summary>What it does beyond reading, sleeping and waking (<see cref="CgminerFamilyClient"/>).</summary>
    private const RigCapabilities FamilyCapabilities = RigCapabilities.PowerTarget | RigCapabilities.SwitchPool | RigCapabilities.ReportsPower;

    private const int SessionBusyCode = 402;

    private string? _sessionId;
    private DateTimeOffset _sessionLastUsed;

    public LuxOsRigClient(RigEndpoint endpoint, TimeProvider timeProvider)
        : base(endpoint, timeProvider, RigFamily.LuxOs, FamilyCapabilities, RigEvidence.VendorDocumentation)
    {
    }

    /// <summary>How long a cached session is reused: below the firmware's 60 s so it cannot expire in flight.</summary>
    public TimeSpan SessionReuseWindow { get; init; } = TimeSpan.FromSeconds(50);

    private protected override async Task<RigStatus> ReadFamilyStatusAsync(CgminerSummary summary, CancellationToken cancellationToken)
    {
        var config = JsonValues.First((await Api.CallAsync("config", null, cancellationToken))["CONFIG"]);
        var power = JsonValues.First((await Api.CallAsync("power", null, cancellationToken))["POWER"]);
        var curtail = JsonValues.String(config?["CurtailMode"]);
        var psuOn = JsonValues.Bool(config?["IsPowerSupplyOn"]);
        var asleep = (curtail is not null && !curtail.Equals("None", StringComparison.OrdinalIgnoreCase)) || psuOn == false;
        return summary.Status(asleep) with
        {
            PowerWatts = JsonValues.Number(power?["Watts"]),
            Profile = JsonValues.String(config?["Profile"]),
        };
    }

    public override Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        SessionCommandAsync("curtail", "sleep", new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public override Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        SessionCommandAsync("curtail", "wakeup", new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public override Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        SetProfileAsync(watts.ToString(CultureInfo.InvariantCulture) + "W", cancellationToken);

    /// <summary>profileset with a profile name ("290MHz", "default"), a "NNNNW"/"NNTHs" selector or a step ("+1").</summary>
    public Task<RigCommandResult> SetProfileAsync(string profile, CancellationToken cancellationToken) =>
        SessionCommandAsync("profileset", profile, new RigExpectation { Profile = profile }, cancellationToken);

    public override Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(Outcomes.Unsupported(Family, "work mode (use power profiles)"));


    /// <summary>Gives the session back (logoff) so an operator's tool can log on at once instead of after 60 s.</summary>
    public async Task ReleaseSessionAsync(CancellationToken cancellationToken)
    {
        if (_sessionId is not { } id)
        {
            return;
        }

        _sessionId = null;
        try
        {
            await Api.CallAsync("logoff", id, cancellationToken);
        }
        catch (RigTransportException)
        {
            // The session expires by itself 60 s after its last use.
        }
    }

    private async Task<RigCommandResult> SessionCommandAsync(
        string command, string argument, RigExpectation expected, CancellationToken cancellationToken)
    {
        var session = await Outcomes.ReadFirstAsync(EnsureSessionAsync(cancellationToken));
        if (session.Failure is { } failure)
        {
            return failure;
        }

        var sessionId = session.Value!;

        var description = $"{command} {argument}";
        JsonObject reply;
        try
        {
            reply = await Api.CallAsync(command, sessionId + "," + argument, cancellationToken);
        }
        catch (RigTransportException ex)
        {
            _sessionLastUsed = Time.GetUtcNow();
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, description);
        }

        _sessionLastUsed = Time.GetUtcNow();
        if (CgminerStatus.FailureOf(reply, description) is { } refused)
        {
            if (refused.Detail.Contains("session", StringComparison.OrdinalIgnoreCase))
            {
                _sessionId = null;
            }

            return refused;
        }

        if (command == "profileset" && JsonValues.First(reply["PROFILE"]) is { } applied
            && JsonValues.String(applied["Profile"]) is { Length: > 0 } name)
        {
            expected = expected with { Profile = name };
        }

        return new RigUnconfirmed(expected, Acknowledged: true, $"{description}: {CgminerStatus.Read(reply)}");
    }

    private async Task<(string? Id, RigFailed? Failure)> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (_sessionId is { } cached && now - _sessionLastUsed < SessionReuseWindow)
        {
            return (cached, null);
        }

        _sessionId = null;
        var reply = await Api.CallAsync("logon", null, cancellationToken);
        var status = CgminerStatus.Read(reply);
        if (status is { IsSuccess: false, StatusCode: SessionBusyCode })
        {
            return (null, new RigFailed(RigFailureReason.Busy, $"logon refused: {status}"));
        }

        if (CgminerStatus.FailureOf(reply, "logon") is { } failure)
        {
            return (null, failure);
        }

        if (JsonValues.String(JsonValues.First(reply["SESSION"])?["SessionID"]) is not { Length: > 0 } id)
        {
            return (null, new RigFailed(RigFailureReason.InvalidReply, "logon reply has no SessionID"));
        }

        _sessionId = id;
        _sessionLastUsed = Time.GetUtcNow();
        return (id, null);
    }
}
