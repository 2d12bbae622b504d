using System.Collections.Concurrent;
using System.Globalization;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Rigs;
using StratumProxy.Rigs.Antminer;
using StratumProxy.Rigs.Avalon;
using StratumProxy.Rigs.BraiinsOs;
using StratumProxy.Rigs.Cgminer;
using StratumProxy.Rigs.LuxOs;
using StratumProxy.Rigs.Whatsminer;

namespace StratumProxy.Farm;

/// <summary>
/// Sleeps and wakes rigs through <see cref="RigCommander"/> (one command at a time per rig, read-back confirmation,
/// no blind retries, an unreachable rig left alone), with one client per rig chosen by its configured family.
/// </summary>
public sealed class RigApiActuator(RigCommander commander, TimeProvider time) : IRigActuator
{
    private readonly ConcurrentDictionary<string, (RigOptions Options, RigHandle Handle)> _handles = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>stratumproxy_rig_api_failures_total{reason}</c>: reads and commands that failed, by reason (timeout: no whole
    /// reply within the command timeout, e.g. a rig that drips its reply; invalid_reply: unreadable or over the reply
    /// size limit; connect_failed, unreachable, …). Not counted when null.
    /// </summary>
    public Prometheus.Counter? Failures { get; init; }

    /// <summary>The families the <c>Api</c> key accepts.</summary>
    public static IReadOnlyList<string> Families { get; } = ["cgminer", "braiins", "luxos", "whatsminer", "whatsminer-v3", "avalon", "antminer"];

    /// <inheritdoc/>
    public Task<ActuationOutcome> SleepAsync(RigOptions rig, CancellationToken cancellationToken) => RunAsync(rig, RigCommand.Sleep, cancellationToken);

    /// <inheritdoc/>
    public Task<ActuationOutcome> WakeAsync(RigOptions rig, CancellationToken cancellationToken) => RunAsync(rig, RigCommand.Wake, cancellationToken);

    /// <inheritdoc/>
    public Task<ActuationOutcome> SetModeAsync(RigOptions rig, RigModeOptions mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mode);
        var command = mode.PowerTargetW is { } watts
            ? RigCommand.SetPowerTarget(watts)
            : RigCommand.SetWorkMode(mode.Name.ToLowerInvariant() switch
            {
                "low" or "eco" or "lowpower" or "low-power" => RigWorkMode.LowPower,
                "high" or "turbo" or "performance" or "highperformance" => RigWorkMode.HighPerformance,
                _ => RigWorkMode.Normal,
            });
        return RunAsync(rig, command, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<RigReading> ReadAsync(RigOptions rig, CancellationToken cancellationToken)
    {
        if (Handle(rig, out _) is not { } handle)
        {
            return RigReading.NoApi;
        }

        var report = await commander.ExecuteAsync(handle, RigCommand.ReadStatus, cancellationToken).ConfigureAwait(false);
        CountFailure(report.Result);
        return report.Result switch
        {
            RigConfirmed { Status: { State: not RigMiningState.Unknown } status } => new RigReading(
                RigReadKind.Known,
                status.State != RigMiningState.Asleep,
                status.HashrateThs,
                status.PowerLimitWatts,
                status.ActivePool?.Url,
                string.Create(CultureInfo.InvariantCulture, $"{status.State.ToString().ToLowerInvariant()}, {status.HashrateThs ?? 0:0.######} TH/s{(status.ActivePool is { } pool ? ", pool " + pool.Url : "")}")),
            RigConfirmed => RigReading.Unreachable("the rig answered but its state could not be told"),
            RigUnsupported unsupported => RigReading.NoApi with { Detail = unsupported.Detail },
            RigFailed { Reason: RigFailureReason.Cancelled } => RigReading.Unreachable("no answer in time"),
            var failed => RigReading.Unreachable(failed.Detail),
        };
    }

    private async Task<ActuationOutcome> RunAsync(RigOptions rig, RigCommand command, CancellationToken cancellationToken)
    {
        if (Handle(rig, out var problem) is not { } handle)
        {
            return new ActuationOutcome("unsupported", problem);
        }

        var report = await commander.ExecuteAsync(handle, command, cancellationToken).ConfigureAwait(false);
        CountFailure(report.Result);
        return report.Result switch
        {
            RigConfirmed confirmed => new ActuationOutcome("confirmed", confirmed.Detail),
            RigUnconfirmed unconfirmed => new ActuationOutcome("unconfirmed", unconfirmed.Acknowledged ? unconfirmed.Detail : "outcome unknown (no reply after sending); not resent: " + unconfirmed.Detail),
            RigFailed { Reason: RigFailureReason.Unreachable or RigFailureReason.ConnectFailed } failed => new ActuationOutcome("unreachable", failed.Detail),
            RigFailed failed => new ActuationOutcome("failed", $"{failed.Reason}: {failed.Detail}"),
            RigUnsupported unsupported => new ActuationOutcome("unsupported", unsupported.Detail),
            _ => new ActuationOutcome("failed", report.Result.Detail),
        };
    }

    /// <summary>The metric label of a failure reason (snake_case of the enum: a bounded set).</summary>
    public static string FailureLabel(RigFailureReason reason) =>
        string.Concat(reason.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private void CountFailure(RigCommandResult result)
    {
        if (result is RigFailed failed)
        {
            Failures?.WithLabels(FailureLabel(failed.Reason)).Inc();
        }
    }

    private RigHandle? Handle(RigOptions rig, out string problem)
    {
        problem = string.Empty;
        if (_handles.TryGetValue(rig.Worker, out var cached) && ReferenceEquals(cached.Options, rig))
        {
            return cached.Handle;
        }

        if (rig.Api is null || rig.Address is null)
        {
            problem = "no management API configured for this rig (Economics:Rigs[].Api and Address)";
            return null;
        }

        var family = rig.Api.ToLowerInvariant();
        var defaultPort = family switch
        {
            "braiins" or "antminer" => 80,
            "whatsminer-v3" => 4433,
            _ => 4028,
        };
        var address = rig.Address.Contains(':', StringComparison.Ordinal) ? rig.Address : $"{rig.Address}:{defaultPort}";
        if (!EndpointParser.TrySplitHostPort(address, out var host, out var port, out var reason))
        {
            problem = $"Economics:Rigs ({rig.Worker}) Address '{rig.Address}': {reason}";
            return null;
        }

        var endpoint = new RigEndpoint(host, port) { User = rig.User, Password = rig.Password };
        IRigClient? client = family switch
        {
            "cgminer" => new CgminerRigClient(endpoint, time),
            "braiins" => new BraiinsOsRigClient(endpoint, time),
            "luxos" => new LuxOsRigClient(endpoint, time),
            "whatsminer" => new WhatsminerV2RigClient(endpoint, time),
            "whatsminer-v3" => new WhatsminerV3RigClient(endpoint, time),
            "avalon" => new AvalonRigClient(endpoint, time),
            "antminer" => new AntminerStockRigClient(endpoint, time),
            _ => null,
        };
        if (client is null)
        {
            problem = $"Economics:Rigs ({rig.Worker}) Api '{rig.Api}' is not one of {string.Join(", ", Families)}";
            return null;
        }

        var handle = new RigHandle(rig.Worker, client);
        _handles[rig.Worker] = (rig, handle);
        return handle;
    }
}
