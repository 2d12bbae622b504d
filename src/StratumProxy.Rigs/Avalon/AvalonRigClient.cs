using System.Globalization;
using System.Text.Json.Nodes;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.Json;
using StratumProxy.Rigs.Transport;

namespace StratumProxy.Rigs.Avalon;

/// <summary>How a Canaan model takes its performance setting.</summary>
public enum AvalonWorkControl
{
    /// <summary>A10-era <c>ascset|0,workmode,N</c>: 0 normal, 1 high performance; takes effect after a reboot.</summary>
    WorkMode,

    /// <summary>Avalon Q / Nano <c>ascset|0,worklevel,set,N</c>: read here as 0 low, 1 normal, 2 high.</summary>
    WorkLevel,
}

/// <summary>
/// Canaan Avalon through its cgminer 4.11.1-based API on TCP 4028 (single-threaded on the rig: one request at a time).
/// Sleep/wake are <c>ascset|0,softoff,1:&lt;unix time&gt;</c> / <c>softon</c>, scheduled 5 s ahead as the public clients
/// do; state, power and work mode are read from the "MM ID0" KEY[value] string of <c>stats</c> (SoftOFF, WALLPOWER, MPO,
/// WORKMODE).
/// </summary>
/// <remarks>
/// Softoff/softon/worklevel replies and the summary/pools/stats reads are library fixtures recorded from an Avalon Q; the
/// A10 workmode replies come from vendor documentation. The worklevel numbering (0 low, 1 normal, 2 high) follows pyasic
/// and is not confirmed by a recording, and no read-back field for the work level was recorded, so a work-level change
/// stays unconfirmed unless WORKMODE shows it. softon may close the connection without replying: that is reported as an
/// unacknowledged write and settled by the read-back.
/// </remarks>
public sealed class AvalonRigClient : CgminerFamilyClient
{
    /// <summary>What it does beyond reading, sleeping and waking (<see cref="CgminerFamilyClient"/>).</summary>
    private const RigCapabilities FamilyCapabilities = RigCapabilities.WorkMode | RigCapabilities.SwitchPool | RigCapabilities.ReportsPower;

    private static readonly TimeSpan ScheduleAhead = TimeSpan.FromSeconds(5);

    private readonly AvalonWorkControl _workControl;

    public AvalonRigClient(RigEndpoint endpoint, TimeProvider timeProvider, AvalonWorkControl workControl = AvalonWorkControl.WorkLevel)
        : base(endpoint, timeProvider, RigFamily.Avalon, FamilyCapabilities, RigEvidence.LibraryFixtures)
    {
        _workControl = workControl;
    }

    private protected override async Task<RigStatus> ReadFamilyStatusAsync(CgminerSummary summary, CancellationToken cancellationToken)
    {
        var stats = await Api.CallAsync("stats", null, cancellationToken);
        var mm = MmTokens(stats);
        return summary.Status(asleep: Token(mm, "SoftOFF") == "1") with
        {
            PowerWatts = Number(Token(mm, "WALLPOWER")) ?? Number(Field(Token(mm, "PS"), 4)),
            PowerLimitWatts = (int?)Number(Token(mm, "MPO")),
            WorkMode = ModeOf(Number(Token(mm, "WORKLEVEL")) ?? Number(Token(mm, "WORKMODE"))),
            Firmware = Token(mm, "Ver") ?? CgminerParsing.Description(summary.Reply),
        };
    }

    public override Task<RigCommandResult> SleepAsync(CancellationToken cancellationToken) =>
        SoftPowerAsync("softoff", new RigExpectation { State = RigMiningState.Asleep }, cancellationToken);

    public override Task<RigCommandResult> WakeAsync(CancellationToken cancellationToken) =>
        SoftPowerAsync("softon", new RigExpectation { State = RigMiningState.Mining }, cancellationToken);

    public override Task<RigCommandResult> SetPowerTargetAsync(int watts, CancellationToken cancellationToken) =>
        Task.FromResult<RigCommandResult>(Outcomes.Unsupported(Family, "watt power target (use the work mode)"));

    public override Task<RigCommandResult> SetWorkModeAsync(RigWorkMode mode, CancellationToken cancellationToken)
    {
        var expected = new RigExpectation { WorkMode = mode };
        string parameter;
        if (_workControl == AvalonWorkControl.WorkMode)
        {
            if (mode == RigWorkMode.LowPower)
            {
                return Task.FromResult<RigCommandResult>(new RigUnsupported("Avalon workmode has only normal (0) and high performance (1)"));
            }

            parameter = mode == RigWorkMode.Normal ? "0,workmode,0" : "0,workmode,1";
        }
        else
        {
            parameter = "0,worklevel,set," + LevelOf(mode).ToString(CultureInfo.InvariantCulture);
        }

        return AscsetAsync(parameter, expected, reply => reply.IsSuccess, cancellationToken);
    }


    private Task<RigCommandResult> SoftPowerAsync(string option, RigExpectation expected, CancellationToken cancellationToken)
    {
        var at = (Time.GetUtcNow() + ScheduleAhead).ToUnixTimeSeconds();
        var parameter = FormattableString.Invariant($"0,{option},1:{at}");

        // Canaan answers I/118 "ASC 0 set info: success softoff:<ts>"; an I/118 without "success" is its help text.
        return AscsetAsync(
            parameter,
            expected,
            status => status.Severity == "S" || (status.Severity == "I" && status.Message.Contains("success", StringComparison.OrdinalIgnoreCase)),
            cancellationToken);
    }

    private async Task<RigCommandResult> AscsetAsync(
        string parameter, RigExpectation expected, Func<CgminerStatus, bool> accepted, CancellationToken cancellationToken)
    {
        var description = "ascset|" + parameter;
        JsonObject reply;
        try
        {
            reply = await Api.CallAsync("ascset", parameter, cancellationToken);
        }
        catch (RigTransportException ex)
        {
            return Outcomes.WriteFailure(ex, isWriteExchange: true, earlierWriteSent: false, expected, description);
        }

        if (CgminerStatus.FailureOf(reply, description) is { } failure)
        {
            return failure;
        }

        var status = CgminerStatus.Read(reply)!.Value;
        return accepted(status)
            ? new RigUnconfirmed(expected, Acknowledged: true, $"{description}: {status}")
            : new RigFailed(RigFailureReason.Rejected, $"{description}: not accepted ({status})");
    }

    private RigWorkMode? ModeOf(double? value) => (_workControl, value) switch
    {
        (_, null) => null,
        (AvalonWorkControl.WorkMode, 0) => RigWorkMode.Normal,
        (AvalonWorkControl.WorkMode, 1) => RigWorkMode.HighPerformance,
        (AvalonWorkControl.WorkLevel, 0) => RigWorkMode.LowPower,
        (AvalonWorkControl.WorkLevel, 1) => RigWorkMode.Normal,
        (AvalonWorkControl.WorkLevel, 2) => RigWorkMode.HighPerformance,
        _ => null,
    };

    private static int LevelOf(RigWorkMode mode) => mode switch
    {
        RigWorkMode.LowPower => 0,
        RigWorkMode.Normal => 1,
        _ => 2,
    };

    /// <summary>The "MM ID0" string of the first STATS entry that has one.</summary>
    internal static string MmTokens(JsonObject stats) =>
        stats["STATS"] is JsonArray array
            ? array.OfType<JsonObject>().Select(s => JsonValues.String(s["MM ID0"])).FirstOrDefault(s => s is not null) ?? ""
            : "";

    /// <summary>The value of KEY[value] in an MM string; values may contain spaces, never ']'.</summary>
    internal static string? Token(string mm, string key)
    {
        var search = 0;
        while (true)
        {
            var at = mm.IndexOf(key + "[", search, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            // Match whole keys only: "PS[" must not match inside "POWS[".
            if (at == 0 || mm[at - 1] == ' ')
            {
                var start = at + key.Length + 1;
                var end = mm.IndexOf(']', start);
                return end < 0 ? null : mm[start..end].Trim();
            }

            search = at + 1;
        }
    }

    private static string? Field(string? list, int index)
    {
        var parts = list?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is not null && parts.Length > index ? parts[index] : null;
    }

    private static double? Number(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
}
