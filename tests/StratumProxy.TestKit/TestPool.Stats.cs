using System.Globalization;
using StratumProxy.Stratum.Mining;

namespace StratumProxy.TestKit;

public sealed partial class TestPool
{
    public long Accepted
    {
        get
        {
            lock (_gate)
            {
                return _acceptedCount;
            }
        }
    }

    public long Rejected
    {
        get
        {
            lock (_gate)
            {
                return _rejectedCount;
            }
        }
    }

    /// <summary>Σ credited difficulty of accepted shares.</summary>
    public double AcceptedDifficulty
    {
        get
        {
            lock (_gate)
            {
                return _acceptedDifficulty;
            }
        }
    }

    /// <summary>Accepted shares whose hash also met the network target.</summary>
    public long BlockCandidates
    {
        get
        {
            lock (_gate)
            {
                return _blockCandidates;
            }
        }
    }

    /// <summary>Connections open now.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Values.Count(s => s.IsOpen);
            }
        }
    }

    /// <summary>Connections accepted since the pool started (across restarts).</summary>
    public int TotalConnections
    {
        get
        {
            lock (_gate)
            {
                return _nextConnectionId;
            }
        }
    }

    /// <summary>Every connection seen, open or closed.</summary>
    public IReadOnlyList<PoolSessionInfo> Sessions
    {
        get
        {
            lock (_gate)
            {
                return [.. _sessions.Values.OrderBy(s => s.Id).Select(s => s.Snapshot())];
            }
        }
    }

    /// <summary>Every accepted share, in order of acceptance.</summary>
    public IReadOnlyList<AcceptedShare> AcceptedShares
    {
        get
        {
            lock (_gate)
            {
                return [.. _accepted];
            }
        }
    }

    public IReadOnlyList<PoolWorkerStats> Workers
    {
        get
        {
            lock (_gate)
            {
                return [.. _workers.Keys.Order(StringComparer.Ordinal).Select(WorkerLocked)];
            }
        }
    }

    /// <summary>One worker's counts (zeros for a worker never seen).</summary>
    public PoolWorkerStats Worker(string worker)
    {
        lock (_gate)
        {
            return WorkerLocked(worker);
        }
    }

    /// <summary>Rejects of one reason, over all workers.</summary>
    public long RejectedFor(ShareRejectReason reason)
    {
        lock (_gate)
        {
            return _workers.Values.Sum(w => w.Rejected.GetValueOrDefault(reason));
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> shares were accepted (by <paramref name="worker"/> when given).</summary>
    public Task WaitForAcceptedAsync(long count, TimeSpan timeout, string? worker = null, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(
            p => (worker is null ? p.Accepted : p.Worker(worker).Accepted) >= count,
            timeout,
            $"{count.ToString(CultureInfo.InvariantCulture)} accepted shares{(worker is null ? string.Empty : " for " + worker)}",
            cancellationToken);

    /// <summary>Waits until exactly <paramref name="count"/> connections are open.</summary>
    public Task WaitForOpenConnectionsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(p => p.OpenConnections == count, timeout, $"{count.ToString(CultureInfo.InvariantCulture)} open connections", cancellationToken);

    /// <summary>Waits until <paramref name="condition"/> holds; re-checked on every connection, authorize and submit.</summary>
    public Task WaitUntilAsync(Func<TestPool, bool> condition, TimeSpan timeout, string? what = null, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => condition(this), timeout, () => $"waiting for {what ?? "condition"}; pool has {Describe()}", cancellationToken);

    /// <summary>
    /// Re-checks every accepted share from scratch: its job is known, the rebuilt header's SHA-256d meets the credited
    /// difficulty (or the network target), and no two accepted shares share a header. Returns the problems found
    /// (none when every accepted share is unique and valid).
    /// </summary>
    public IReadOnlyList<string> AuditAcceptedShares()
    {
        List<string> problems = [];
        HashSet<string> headers = new(StringComparer.Ordinal);
        Span<byte> hash = stackalloc byte[32];
        Span<byte> header = stackalloc byte[BlockHeader.Size];
        lock (_gate)
        {
            foreach (var share in _accepted)
            {
                if (!_allJobs.TryGetValue(share.JobId, out var job))
                {
                    problems.Add($"share of unknown job {share.JobId}");
                    continue;
                }

                ShareHasher.Default.ComputeBlockHash(
                    job.Template,
                    Convert.FromHexString(share.Extranonce1),
                    Convert.FromHexString(share.Extranonce2),
                    share.NTime,
                    share.Nonce,
                    share.Version,
                    hash,
                    header);
                var meets = Stratum.Mining.Difficulty.MeetsTarget(hash, Stratum.Mining.Difficulty.ToTarget(share.Difficulty))
                    || Stratum.Mining.Difficulty.MeetsTarget(hash, job.Template.NetworkTarget);
                if (!meets)
                {
                    problems.Add($"share {share.JobId}/{share.Extranonce1}/{share.Extranonce2}/{share.Nonce:x8} misses difficulty {share.Difficulty}");
                }

                if (!headers.Add(Convert.ToHexStringLower(header)))
                {
                    problems.Add($"duplicate header for share {share.JobId}/{share.Extranonce1}/{share.Extranonce2}/{share.Nonce:x8}");
                }
            }
        }

        return problems;
    }

    private PoolWorkerStats WorkerLocked(string worker) =>
        _workers.TryGetValue(worker, out var c)
            ? new PoolWorkerStats(worker, c.Accepted, c.AcceptedDifficulty, new Dictionary<ShareRejectReason, long>(c.Rejected))
            : new PoolWorkerStats(worker, 0, 0, new Dictionary<ShareRejectReason, long>());

    private string Describe()
    {
        lock (_gate)
        {
            var rejects = string.Join(", ", _workers.Values.SelectMany(w => w.Rejected).GroupBy(r => r.Key).Select(g => $"{g.Key}={g.Sum(x => x.Value)}"));
            return string.Create(
                CultureInfo.InvariantCulture,
                $"accepted={_acceptedCount} rejected={_rejectedCount} [{rejects}] open={_sessions.Values.Count(s => s.IsOpen)} total connections={_nextConnectionId} running={IsRunning}");
        }
    }
}
