using System.Text;
using StratumProxy.Stratum.Mining;
using StratumProxy.Stratum.Protocol;

namespace StratumProxy.TestKit;

public sealed partial class TestPool
{
    private async Task<bool> HandleLineAsync(PoolSession session, byte[] line)
    {
        if (!StratumEnvelope.TryParse(line, out var envelope, out _))
        {
            // A real pool hangs up on garbage.
            return false;
        }

        if (envelope.Kind == StratumMessageKind.Response)
        {
            return true;
        }

        var id = envelope.Id;
        var wantsReply = envelope.Kind == StratumMessageKind.Request;
        switch (envelope.Method)
        {
            case StratumMethod.Subscribe:
                await HandleSubscribeAsync(session, line, envelope).ConfigureAwait(false);
                return true;
            case StratumMethod.Authorize:
                await HandleAuthorizeAsync(session, line, envelope).ConfigureAwait(false);
                return true;
            case StratumMethod.Configure:
                await HandleConfigureAsync(session, line, envelope).ConfigureAwait(false);
                return true;
            case StratumMethod.Submit:
                await HandleSubmitAsync(session, line, envelope).ConfigureAwait(false);
                return true;
            case StratumMethod.ExtranonceSubscribe or StratumMethod.Ping:
                if (wantsReply && !Options.SilentOnExtranonceSubscribeAndPing)
                {
                    await ReplyTrueAsync(session, id).ConfigureAwait(false);
                }

                return true;
            case StratumMethod.SuggestDifficulty:
                await HandleSuggestDifficultyAsync(session, line, envelope).ConfigureAwait(false);
                return true;
            default:
                if (wantsReply)
                {
                    await session.Connection.SendAsync((w, o) => w.WriteError(o, id, StratumErrorCode.Other, "Unsupported method")).ConfigureAwait(false);
                }

                return true;
        }
    }

    private async Task HandleSubscribeAsync(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        var userAgent = SubscribeRequest.TryParse(line, envelope, out var request, out _) ? request.UserAgent : null;
        lock (_gate)
        {
            session.UserAgent = userAgent;
            session.Subscribed = true;
        }

        if (Options.WorkOrdering == PoolWorkOrdering.BeforeSubscribeResult)
        {
            await SendInitialWorkAsync(session).ConfigureAwait(false);
        }

        var id = envelope.Id;
        var subscriptionId = BitConverter.GetBytes(session.Id);
        await session.Connection.SendAsync((w, o) => w.WriteSubscribeResult(o, id, subscriptionId, session.Extranonce1, session.Extranonce2Size)).ConfigureAwait(false);
        _changed.Notify();
    }

    private async Task HandleAuthorizeAsync(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        var id = envelope.Id;
        if (!AuthorizeRequest.TryParse(line, envelope, out var request, out _))
        {
            await ReplyRejectAsync(session, id, ShareRejectReason.Malformed).ConfigureAwait(false);
            return;
        }

        var ok = Options.Authorize?.Invoke(request.Username, request.Password) ?? true;
        if (ok)
        {
            lock (_gate)
            {
                if (!session.Workers.Contains(request.Username))
                {
                    session.Workers.Add(request.Username);
                }
            }
        }

        if (ok && Options.WorkOrdering == PoolWorkOrdering.BeforeAuthorizeResult)
        {
            await SendInitialWorkAsync(session).ConfigureAwait(false);
        }

        if (ok)
        {
            await ReplyTrueAsync(session, id).ConfigureAwait(false);
        }
        else
        {
            await ReplyRejectAsync(session, id, ShareRejectReason.Unauthorized).ConfigureAwait(false);
        }

        if (ok && Options.WorkOrdering == PoolWorkOrdering.AfterAuthorizeResult)
        {
            await SendInitialWorkAsync(session).ConfigureAwait(false);
        }

        _changed.Notify();
    }

    private async Task HandleConfigureAsync(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        var id = envelope.Id;
        if (!ConfigureRequest.TryParse(line, envelope, out var request, out _))
        {
            await ReplyRejectAsync(session, id, ShareRejectReason.Malformed).ConfigureAwait(false);
            return;
        }

        bool? rolling = null;
        uint mask = 0;
        if (request.WantsVersionRolling)
        {
            rolling = Options.VersionRollingMask is not null;
            mask = VersionRolling.Negotiate(Options.VersionRollingMask ?? 0, request.VersionRollingMask ?? uint.MaxValue);
            lock (_gate)
            {
                session.VersionMask = mask;
            }
        }

        bool? minimumDifficulty = request.WantsMinimumDifficulty ? false : null;
        await session.Connection.SendAsync((w, o) => w.WriteConfigureResult(o, id, rolling, mask, minimumDifficulty)).ConfigureAwait(false);
    }

    private async Task HandleSuggestDifficultyAsync(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        var id = envelope.Id;
        if (Options.ReplyStyle != PoolReplyStyle.Ckpool)
        {
            // Acknowledged and ignored, as most pools do.
            if (envelope.Kind == StratumMessageKind.Request)
            {
                await ReplyTrueAsync(session, id).ConfigureAwait(false);
            }

            return;
        }

        // ckpool: no reply; the suggestion (never below the pool's floor) becomes the difficulty of the next jobs.
        if (!SuggestDifficultyRequest.TryParse(line, envelope, out var suggested, out _))
        {
            return;
        }

        double difficulty;
        lock (_gate)
        {
            difficulty = Math.Max(suggested, _difficulty);
            session.Difficulty = difficulty;
        }

        await session.Connection.SendAsync((w, o) => WriteSetDifficulty(w, o, difficulty)).ConfigureAwait(false);
    }

    private async Task SendInitialWorkAsync(PoolSession session)
    {
        await _workLock.WaitAsync().ConfigureAwait(false);
        try
        {
            PoolJob job;
            double difficulty;
            lock (_gate)
            {
                if (session.WorkSent)
                {
                    return;
                }

                session.WorkSent = true;
                job = _currentJob;
                difficulty = session.Difficulty;
                session.JobDifficulty[job.JobId] = difficulty;
                session.JobExtranonce[job.JobId] = (session.Extranonce1, session.Extranonce2Size);
            }

            await session.Connection.SendAsync((w, o) =>
            {
                WriteSetDifficulty(w, o, difficulty);
                WriteNotify(w, o, job, cleanJobs: true);
            }).ConfigureAwait(false);
        }
        finally
        {
            _workLock.Release();
        }
    }

    private async Task HandleSubmitAsync(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        if (Options.BeforeVerdict is { } hold)
        {
            await hold().ConfigureAwait(false);
        }

        var id = envelope.Id;
        var reason = ValidateAndRecord(session, line, envelope);
        _changed.Notify();
        if (envelope.Kind != StratumMessageKind.Request)
        {
            return;
        }

        if (reason is { } rejected)
        {
            await ReplyRejectAsync(session, id, rejected).ConfigureAwait(false);
        }
        else
        {
            await ReplyTrueAsync(session, id).ConfigureAwait(false);
        }
    }

    /// <summary>Validates one submit and counts it; null means accepted.</summary>
    private ShareRejectReason? ValidateAndRecord(PoolSession session, byte[] line, StratumEnvelope envelope)
    {
        if (!SubmitRequest.TryParse(line, envelope, out var submit, out _))
        {
            return Count("(malformed)", ShareRejectReason.Malformed);
        }

        var worker = Encoding.UTF8.GetString(submit.Worker.Of(line));
        var jobId = Encoding.UTF8.GetString(submit.JobId.Of(line));
        lock (_gate)
        {
            if (!session.Subscribed)
            {
                return Count(worker, ShareRejectReason.NotSubscribed);
            }

            if (Options.RequireAuthorizedWorker && !session.Workers.Contains(worker))
            {
                return Count(worker, ShareRejectReason.Unauthorized);
            }

            if (!_activeJobs.TryGetValue(jobId, out var job))
            {
                return Count(worker, _allJobs.ContainsKey(jobId) ? ShareRejectReason.StaleJob : ShareRejectReason.UnknownJob);
            }

            var (extranonce1, extranonce2Size) = session.JobExtranonce.TryGetValue(jobId, out var sent) ? sent : (session.Extranonce1, session.Extranonce2Size);
            if (submit.Extranonce2.Length != extranonce2Size)
            {
                return Count(worker, ShareRejectReason.InvalidExtranonce2);
            }

            var now = (uint)Options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
            if (submit.NTime < job.NTime || submit.NTime > Math.Max(job.NTime, now) + Options.MaxNTimeAheadSeconds)
            {
                return Count(worker, ShareRejectReason.NTimeOutOfRange);
            }

            var version = job.Version;
            if (submit.HasVersionBits && !VersionRolling.TryApply(job.Version, submit.VersionBits, session.VersionMask, out version))
            {
                return Count(worker, ShareRejectReason.InvalidVersionBits);
            }

            Span<byte> hash = stackalloc byte[32];
            ShareHasher.Default.ComputeBlockHash(job.Template, extranonce1, submit.Extranonce2.Span, submit.NTime, submit.Nonce, version, hash);

            // Credit the difficulty that was in force when the job was sent on this connection (ckpool's rule); a
            // share meeting only a lowered current difficulty is accepted at that one.
            var jobDifficulty = session.JobDifficulty.TryGetValue(jobId, out var d) ? d : session.Difficulty;
            double? credited = Stratum.Mining.Difficulty.MeetsTarget(hash, Stratum.Mining.Difficulty.ToTarget(jobDifficulty)) ? jobDifficulty
                : Stratum.Mining.Difficulty.MeetsTarget(hash, Stratum.Mining.Difficulty.ToTarget(session.Difficulty)) ? session.Difficulty
                : null;

            // A block candidate is accepted even when it misses the share target (PEERS.md #10).
            var isBlock = Stratum.Mining.Difficulty.MeetsTarget(hash, job.Template.NetworkTarget);
            if (credited is null && !isBlock)
            {
                return Count(worker, ShareRejectReason.LowDifficulty);
            }

            var extranonce2 = Convert.ToHexStringLower(submit.Extranonce2.Span);
            var extranonce1Hex = Convert.ToHexStringLower(extranonce1);
            if (!_seen.Add(new ShareKey(jobId, extranonce1Hex, extranonce2, submit.NTime, submit.Nonce, version)))
            {
                return Count(worker, ShareRejectReason.Duplicate);
            }

            var difficulty = credited ?? jobDifficulty;
            var counters = Counters(worker);
            counters.Accepted++;
            counters.AcceptedDifficulty += difficulty;
            _acceptedCount++;
            _acceptedDifficulty += difficulty;
            if (isBlock)
            {
                _blockCandidates++;
            }

            if (!Options.KeepAcceptedShares)
            {
                return null;
            }

            _accepted.Add(new AcceptedShare(
                worker,
                jobId,
                session.Id,
                extranonce1Hex,
                extranonce2,
                submit.NTime,
                submit.Nonce,
                version,
                difficulty,
                Stratum.Mining.Difficulty.OfHash(hash),
                isBlock));
            return null;
        }
    }

    private ShareRejectReason Count(string worker, ShareRejectReason reason)
    {
        lock (_gate)
        {
            var counters = Counters(worker);
            counters.Rejected[reason] = counters.Rejected.GetValueOrDefault(reason) + 1;
            _rejectedCount++;
        }

        return reason;
    }

    private WorkerCounters Counters(string worker)
    {
        if (!_workers.TryGetValue(worker, out var counters))
        {
            counters = new WorkerCounters();
            _workers[worker] = counters;
        }

        return counters;
    }

    private Task<bool> ReplyTrueAsync(PoolSession session, JsonRpcId id)
    {
        if (Options.ReplyStyle == PoolReplyStyle.Ckpool)
        {
            var raw = "{\"result\":true,\"error\":null,\"id\":" + id.ToString() + "}\n";
            return session.Connection.SendAsync((_, o) => WriteText(o, raw));
        }

        return session.Connection.SendAsync((w, o) => w.WriteResult(o, id, true));
    }

    private Task<bool> ReplyRejectAsync(PoolSession session, JsonRpcId id, ShareRejectReason reason)
    {
        var message = RejectMessage(reason, Options.ReplyStyle);
        if (Options.ReplyStyle == PoolReplyStyle.Ckpool)
        {
            var raw = "{\"reject-reason\":\"" + message + "\",\"result\":false,\"error\":null,\"id\":" + id.ToString() + "}\n";
            return session.Connection.SendAsync((_, o) => WriteText(o, raw));
        }

        var code = RejectCode(reason);
        return session.Connection.SendAsync((w, o) => w.WriteError(o, id, code, message));
    }
}
