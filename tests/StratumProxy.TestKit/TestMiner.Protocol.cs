using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

public sealed partial class TestMiner
{
    private async Task OpenAsync(MinerSession session)
    {
        if (Options.VersionRolling)
        {
            var configureId = Register(session, StratumMethod.Configure);
            await session.Connection.SendAsync((w, o) => w.WriteConfigureVersionRolling(o, configureId, Options.RequestedVersionMask, Options.VersionRollingMinBitCount)).ConfigureAwait(false);
        }

        var subscribeId = Register(session, StratumMethod.Subscribe);
        if (Options.IdStyle == MinerIdStyle.StringMethod)
        {
            // stratum-client's exact opening line: no user agent at all.
            await session.Connection.SendRawAsync("{\"id\":\"mining.subscribe\",\"method\":\"mining.subscribe\",\"params\":[]}\n"u8.ToArray()).ConfigureAwait(false);
        }
        else
        {
            await session.Connection.SendAsync((w, o) => w.WriteSubscribe(o, subscribeId, Options.UserAgent)).ConfigureAwait(false);
        }
    }

    private JsonRpcId Register(MinerSession session, StratumMethod method, int submitIndex = -1)
    {
        lock (_gate)
        {
            var id = session.NextId(method);
            session.AddPending(id, new PendingRequest(method, submitIndex));
            return id;
        }
    }

    private async Task<bool> HandleLineAsync(MinerSession session, byte[] line)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out _))
        {
            return true;
        }

        try
        {
            return envelope.Kind == StratumMessageKind.Response
                ? await HandleResponseAsync(session, line, envelope).ConfigureAwait(false)
                : await HandlePoolMessageAsync(session, line, envelope).ConfigureAwait(false);
        }
        finally
        {
            _changed.Notify();
        }
    }

    private async Task<bool> HandleResponseAsync(MinerSession session, byte[] line, StratumEnvelope envelope)
    {
        PendingRequest? request;
        lock (_gate)
        {
            request = session.TakePending(envelope.Id);
        }

        if (request is null)
        {
            Interlocked.Increment(ref _unexpectedAnswers);
            return true;
        }

        switch (request.Method)
        {
            case StratumMethod.Configure:
                if (ConfigureResult.TryParse(line, envelope, out var configured) && configured.VersionRolling)
                {
                    lock (_gate)
                    {
                        session.VersionMask = configured.VersionRollingMask & Options.RequestedVersionMask;
                    }
                }

                return true;
            case StratumMethod.Subscribe:
                return await OnSubscribedAsync(session, line, envelope).ConfigureAwait(false);
            case StratumMethod.Authorize:
                var authorized = StratumResponse.ReadVerdict(line, envelope).Accepted;
                lock (_gate)
                {
                    session.Authorized = authorized;
                }

                return true;
            case StratumMethod.Submit:
                var verdict = StratumResponse.ReadVerdict(line, envelope);
                lock (_gate)
                {
                    var submit = _submits[request.SubmitIndex];
                    if (submit.Outcome == SubmitOutcome.Pending)
                    {
                        submit.Outcome = verdict.Accepted ? SubmitOutcome.Accepted : SubmitOutcome.Rejected;
                        submit.ErrorCode = verdict.Accepted ? null : verdict.ErrorCode;
                        submit.Reason = verdict.Reason;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    private async Task<bool> OnSubscribedAsync(MinerSession session, byte[] line, StratumEnvelope envelope)
    {
        if (!SubscribeResult.TryParse(line, envelope, out var result, out _) || result is null)
        {
            // No extranonce: nothing can be mined on this connection.
            return false;
        }

        lock (_gate)
        {
            session.Extranonce1 = result.Extranonce1;
            session.Extranonce2Size = result.Extranonce2Size;
        }

        var authorizeId = Register(session, StratumMethod.Authorize);
        await session.Connection.SendAsync((w, o) => w.WriteAuthorize(o, authorizeId, Options.Worker, Options.Password)).ConfigureAwait(false);
        if (Options.SubscribeExtranonce)
        {
            var id = Register(session, StratumMethod.ExtranonceSubscribe);
            await session.Connection.SendAsync((w, o) => w.WriteExtranonceSubscribe(o, id)).ConfigureAwait(false);
        }

        if (Options.SuggestDifficulty is { } suggested)
        {
            var id = Register(session, StratumMethod.SuggestDifficulty);
            await session.Connection.SendAsync((w, o) => w.WriteSuggestDifficulty(o, id, suggested)).ConfigureAwait(false);
        }

        // A notify that came before the subscribe result (PEERS.md #4) becomes work now.
        SetWork(session);
        return true;
    }

    private async Task<bool> HandlePoolMessageAsync(MinerSession session, byte[] line, StratumEnvelope envelope)
    {
        var id = envelope.Id;
        switch (envelope.Method)
        {
            case StratumMethod.SetDifficulty:
                if (PoolParams.TryParseDifficulty(line, envelope, out var difficulty, out _) && double.IsFinite(difficulty))
                {
                    bool restart;
                    lock (_gate)
                    {
                        session.Difficulty = difficulty;
                        restart = Options.ApplyDifficultyImmediately && session.LastJob is not null;
                        if (restart)
                        {
                            session.LastJob = session.LastJob! with { Difficulty = difficulty };
                        }
                    }

                    if (restart)
                    {
                        SetWork(session);
                    }
                }

                return true;
            case StratumMethod.Notify:
                OnNotify(session, line, envelope);
                return true;
            case StratumMethod.SetExtranonce:
                if (SetExtranonceMessage.TryParse(line, envelope, out var extranonce, out _) && extranonce is not null)
                {
                    lock (_gate)
                    {
                        session.NextExtranonce = (extranonce.Extranonce1, extranonce.Extranonce2Size);
                    }
                }

                return true;
            case StratumMethod.SetVersionMask:
                if (Options.VersionRolling && PoolParams.TryParseVersionMask(line, envelope, out var mask, out _))
                {
                    lock (_gate)
                    {
                        session.VersionMask = mask & Options.RequestedVersionMask;
                    }
                }

                return true;
            case StratumMethod.Reconnect:
                // As cgminer 4.11.1 (parse_reconnect): no host means the address it dialled; the connection is closed
                // at once, so a submit whose answer has not arrived yet stays unanswered.
                Interlocked.Increment(ref _reconnectsReceived);
                _changed.Notify();
                if (!Options.FollowReconnect || !ReconnectMessage.TryParse(line, envelope, out var reconnect, out _))
                {
                    return true;
                }

                lock (_gate)
                {
                    session.Reconnect = reconnect;
                }

                return false;
            case StratumMethod.ShowMessage:
                if (PoolParams.ReadMessageText(line, envelope) is { } text)
                {
                    lock (_gate)
                    {
                        _messages.Add(text);
                    }
                }

                return true;
            case StratumMethod.GetVersion when envelope.Kind == StratumMessageKind.Request:
                await session.Connection.SendAsync((w, o) => w.WriteStringResult(o, id, Options.UserAgent)).ConfigureAwait(false);
                return true;
            case StratumMethod.Ping when envelope.Kind == StratumMessageKind.Request:
                await session.Connection.SendAsync((w, o) => w.WriteStringResult(o, id, "pong")).ConfigureAwait(false);
                return true;
            default:
                return true;
        }
    }

    private void OnNotify(MinerSession session, byte[] line, StratumEnvelope envelope)
    {
        if (!NotifyMessage.TryParse(line, envelope, out var notify, out _) || notify is null)
        {
            return;
        }

        ShareJobTemplate template;
        try
        {
            template = ShareJobTemplate.Create(
                notify.PrevHash,
                notify.Coinbase1,
                notify.Coinbase2,
                notify.MerkleBranches.SelectMany(b => b).ToArray(),
                notify.Version,
                notify.NBits,
                notify.NTime);
        }
        catch (ArgumentException)
        {
            return;
        }

        Interlocked.Increment(ref _jobsReceived);
        if (notify.CleanJobs)
        {
            Interlocked.Increment(ref _cleanJobsReceived);
        }

        lock (_gate)
        {
            if (session.NextExtranonce is { } next)
            {
                session.Extranonce1 = next.Extranonce1;
                session.Extranonce2Size = next.Extranonce2Size;
                session.NextExtranonce = null;
            }

            session.LastJob = new ReceivedJob(notify.JobId, template, session.Difficulty, Options.TimeProvider.GetUtcNow());
        }

        SetWork(session);
    }

    private void SetWork(MinerSession session)
    {
        lock (_gate)
        {
            if (session.LastJob is not { } job || session.Extranonce1 is not { } extranonce1 || session.Connection.IsClosed)
            {
                return;
            }

            var work = new Work(
                session,
                job.JobId,
                job.Template,
                extranonce1,
                session.Extranonce2Size,
                job.Difficulty,
                Stratum.Mining.Difficulty.ToTarget(job.Difficulty),
                Options.VersionRolling ? session.VersionMask : 0,
                job.ReceivedAt);
            Volatile.Write(ref _work, work);
        }

        _workChanged.Notify();
    }
}
