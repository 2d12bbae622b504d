using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StratumProxy.Rigs;

/// <summary>
/// The one way commands reach rigs. Per rig: one command at a time (an async lock); a failed connect (nothing sent) is
/// retried a bounded number of times with doubling back-off, then the rig is marked unreachable and left alone for a
/// hold-off; a write is never repeated once it may have reached the rig; a write counts as done only when a read-back
/// shows the new state (bounded reads with a delay per family). Every call returns a <see cref="RigCommandReport"/>
/// for the audit log, whatever happened.
/// </summary>
public sealed class RigCommander
{
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _unreachableUntil = new(StringComparer.Ordinal);

    public RigCommander(TimeProvider timeProvider, ILogger<RigCommander>? logger = null)
    {
        _timeProvider = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>True while the rig is left alone after failing every connect attempt.</summary>
    public bool IsUnreachable(string rigId) =>
        _unreachableUntil.TryGetValue(rigId, out var until) && _timeProvider.GetUtcNow() < until;

    /// <summary>Lets an operator (or a successful probe elsewhere) put an unreachable rig back in service at once.</summary>
    public void MarkReachable(string rigId) => _unreachableUntil.TryRemove(rigId, out _);

    public async Task<RigCommandReport> ExecuteAsync(RigHandle rig, RigCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rig);
        ArgumentNullException.ThrowIfNull(command);
        var started = _timeProvider.GetUtcNow();
        var gate = _locks.GetOrAdd(rig.Id, static _ => new SemaphoreSlim(1, 1));
        try
        {
            await gate.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return Finish(rig, command, started, new RigFailed(RigFailureReason.Cancelled, "cancelled while waiting for the rig's previous command"), 0, 0, null);
        }

        try
        {
            return await ExecuteLockedAsync(rig, command, started, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<RigCommandReport> ExecuteLockedAsync(RigHandle rig, RigCommand command, DateTimeOffset started, CancellationToken cancellationToken)
    {
        if (_unreachableUntil.TryGetValue(rig.Id, out var until) && started < until)
        {
            return Finish(rig, command, started, new RigFailed(RigFailureReason.Unreachable, FormattableString.Invariant($"marked unreachable; left alone until {until:O}")), 0, 0, null);
        }

        if (!Supports(rig.Client.Capabilities, command.Kind))
        {
            return Finish(rig, command, started, new RigUnsupported($"{rig.Client.Family} does not offer {command.Kind}"), 0, 0, null);
        }

        var attempts = 0;
        var sent = false;
        RigCommandResult result;
        RigStatus? status = null;
        try
        {
            while (true)
            {
                attempts++;
                sent = command.Kind != RigCommandKind.ReadStatus;
                (result, status) = await InvokeAsync(rig.Client, command, cancellationToken);
                if (result is not RigFailed { Reason: RigFailureReason.ConnectFailed } connectFailure)
                {
                    break;
                }

                sent = false;
                if (attempts >= rig.Timing.ConnectAttempts)
                {
                    _unreachableUntil[rig.Id] = _timeProvider.GetUtcNow() + rig.Timing.UnreachableHoldOff;
                    _logger.MarkedUnreachable(rig.Id, attempts, rig.Timing.UnreachableHoldOff);
                    result = new RigFailed(RigFailureReason.Unreachable, $"no connection after {attempts} attempts: {connectFailure.Detail}");
                    return Finish(rig, command, started, result, attempts, 0, null);
                }

                var delay = rig.Timing.ConnectBackoff * Math.Pow(2, attempts - 1);
                _logger.ConnectRetry(rig.Id, attempts, connectFailure.Detail, delay);
                await Task.Delay(delay, _timeProvider, cancellationToken);
            }

            _unreachableUntil.TryRemove(rig.Id, out _);
            if (result is not RigUnconfirmed unconfirmed)
            {
                return Finish(rig, command, started, result, attempts, 0, status);
            }

            return await ReadBackAsync(rig, command, started, unconfirmed, attempts, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = sent
                ? new RigUnconfirmed(new RigExpectation(), Acknowledged: false, "cancelled while the command was in flight; outcome unknown")
                : new RigFailed(RigFailureReason.Cancelled, "cancelled before the command was sent");
            return Finish(rig, command, started, result, attempts, 0, status);
        }
    }

    private async Task<RigCommandReport> ReadBackAsync(
        RigHandle rig, RigCommand command, DateTimeOffset started, RigUnconfirmed written, int attempts, CancellationToken cancellationToken)
    {
        RigStatus? last = null;
        string? lastFailure = null;
        var reads = 0;
        try
        {
            while (reads < rig.Timing.ReadBackAttempts)
            {
                await Task.Delay(rig.Timing.ReadBackDelay, _timeProvider, cancellationToken);
                reads++;
                var read = await rig.Client.ReadStatusAsync(cancellationToken);
                if (read.Status is not { } status)
                {
                    // A rig restarting to apply the change may be away for a while: keep reading, within the bound.
                    lastFailure = read.Failure?.Detail;
                    continue;
                }

                last = status;
                if (written.Expected.IsMetBy(status))
                {
                    var confirmed = new RigConfirmed(status, FormattableString.Invariant($"{written.Detail}; shown by read-back {reads}"));
                    return Finish(rig, command, started, confirmed, attempts, reads, status);
                }

                _logger.ReadBackPending(rig.Id, reads, written.Expected);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Finish(rig, command, started, written with { LastStatus = last, Detail = written.Detail + "; read-back cancelled" }, attempts, reads, last);
        }

        var detail = FormattableString.Invariant($"{written.Detail}; not shown after {reads} read-backs")
            + (last is null && lastFailure is not null ? "; last read failed: " + lastFailure : "");
        return Finish(rig, command, started, written with { LastStatus = last, Detail = detail }, attempts, reads, last);
    }

    private static async Task<(RigCommandResult Result, RigStatus? Status)> InvokeAsync(IRigClient client, RigCommand command, CancellationToken cancellationToken)
    {
        switch (command.Kind)
        {
            case RigCommandKind.ReadStatus:
                var read = await client.ReadStatusAsync(cancellationToken);
                return read.Status is { } status
                    ? (new RigConfirmed(status, "status read"), status)
                    : (read.Failure ?? new RigFailed(RigFailureReason.InvalidReply, "no status"), null);
            case RigCommandKind.Sleep:
                return (await client.SleepAsync(cancellationToken), null);
            case RigCommandKind.Wake:
                return (await client.WakeAsync(cancellationToken), null);
            case RigCommandKind.SetPowerTarget:
                return (await client.SetPowerTargetAsync(command.Watts ?? throw new ArgumentException("SetPowerTarget needs watts", nameof(command)), cancellationToken), null);
            case RigCommandKind.SetWorkMode:
                return (await client.SetWorkModeAsync(command.Mode ?? throw new ArgumentException("SetWorkMode needs a mode", nameof(command)), cancellationToken), null);
            case RigCommandKind.SwitchPool:
                return (await client.SwitchPoolAsync(command.PoolIndex ?? throw new ArgumentException("SwitchPool needs a pool index", nameof(command)), cancellationToken), null);
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command.Kind, "unknown command");
        }
    }

    private static bool Supports(RigCapabilities capabilities, RigCommandKind kind) => kind switch
    {
        RigCommandKind.ReadStatus => capabilities.HasFlag(RigCapabilities.ReadStatus),
        RigCommandKind.Sleep => capabilities.HasFlag(RigCapabilities.Sleep),
        RigCommandKind.Wake => capabilities.HasFlag(RigCapabilities.Wake),
        RigCommandKind.SetPowerTarget => capabilities.HasFlag(RigCapabilities.PowerTarget),
        RigCommandKind.SetWorkMode => capabilities.HasFlag(RigCapabilities.WorkMode),
        RigCommandKind.SwitchPool => capabilities.HasFlag(RigCapabilities.SwitchPool),
        _ => false,
    };

    private RigCommandReport Finish(
        RigHandle rig, RigCommand command, DateTimeOffset started, RigCommandResult result, int attempts, int reads, RigStatus? status)
    {
        _logger.CommandFinished(rig.Id, command, result.GetType().Name, result.Detail);
        return new RigCommandReport(rig.Id, rig.Client.Family, command, started, _timeProvider.GetUtcNow(), result, attempts, reads, status);
    }
}
