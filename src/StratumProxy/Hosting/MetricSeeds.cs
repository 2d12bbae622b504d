using Prometheus;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Hosting;

/// <summary>
/// Creates, at start and after each applied reload, the labelled series whose label values the configuration
/// already knows (listeners, pools, outcomes, warning kinds), so that a dashboard or an alert sees a zero instead
/// of no data until the first event. Series per worker appear with the worker's first share.
/// </summary>
internal static class MetricSeeds
{
    /// <summary>Verdicts a pool's forwarded shares are counted under.</summary>
    public static readonly string[] PoolShareResults = ["accepted", "rejected", "lost", "resent"];

    /// <summary>Why miners move between pools.</summary>
    public static readonly string[] SwitchReasons = ["assign", "failover", "failback", "pin", "api", "balance"];

    /// <summary>Kinds of curtailment change and the outcomes of acting on one.</summary>
    public static readonly string[] DecisionKinds = ["sleep", "wake", "pool_switch", "mode_change"];

    /// <summary>Outcomes of acting on a curtailment decision.</summary>
    public static readonly string[] DecisionOutcomes = ["confirmed", "unconfirmed", "failed"];

    /// <summary>Kinds of "the rig did not do what it was told".</summary>
    public static readonly string[] WarningKinds = ["still_hashing", "hashing_elsewhere"];

    public static void Seed(IMetricFactory factory, ProxyMetrics metrics, ProxyOptions options, IReadOnlyCollection<string> rigs, bool dryRun)
    {
        // Shares from a session that has not authorized yet count under worker "unknown", pool "none".
        metrics.SeedUnattributed();

        // A configured rig that has not connected yet hashes and earns 0, and is in no state until the policy first runs.
        var state = factory.CreateGauge("stratumproxy_rig_state", "1 for the state each configured rig is in (running, sleeping).", ["worker", "state"]);
        var money = new[]
        {
            factory.CreateGauge("stratumproxy_rig_revenue_usd_per_day", "Expected revenue of a rig at its observed hashrate (USD per day).", ["worker"]),
            factory.CreateGauge("stratumproxy_rig_power_cost_usd_per_day", "Power cost of a rig at its model's power and the tariff now (USD per day).", ["worker"]),
            factory.CreateGauge("stratumproxy_rig_margin_usd_per_day", "Revenue minus power cost of a rig (USD per day).", ["worker"]),
        };
        foreach (var rig in rigs.Where(r => !string.IsNullOrWhiteSpace(r)))
        {
            foreach (var gauge in money)
            {
                gauge.WithLabels(metrics.WorkerLabel(rig));
            }

            metrics.SeedWorker(metrics.WorkerLabel(rig));

            state.WithLabels(rig, "running");
            state.WithLabels(rig, "sleeping");
        }

        foreach (var listener in options.Listeners)
        {
            metrics.MinerConnections.WithLabels(listener.Name);
            metrics.MinerConnectionsTotal.WithLabels(listener.Name);
        }

        // Owned by the farm view and the curtailment loop; asking the factory again returns their series.
        var hashprice = factory.CreateGauge("stratumproxy_hashprice_usd_per_ph_day", "What one PH/s earns per day at the current inputs (after pool fee, by pool).", ["pool"]);
        foreach (var pool in options.Pools.Select(p => p.Name))
        {
            metrics.PoolUp.WithLabels(pool);
            metrics.PoolHealth.WithLabels(pool);
            metrics.PoolDifficulty.WithLabels(pool);
            metrics.PoolMiners.WithLabels(pool);
            metrics.PoolSubmitLatency.WithLabels(pool);
            metrics.UpstreamReconnects.WithLabels(pool);
            metrics.UpstreamRefused.WithLabels(pool);
            metrics.BlocksFound.WithLabels(pool);
            hashprice.WithLabels(pool);
            foreach (var result in PoolShareResults)
            {
                metrics.PoolShares.WithLabels(pool, result);
            }
        }

        foreach (var reason in SwitchReasons)
        {
            metrics.PoolSwitches.WithLabels(reason);
        }

        var decisions = factory.CreateCounter("stratumproxy_decisions_total", "Curtailment decisions that changed a rig, by kind, reason, mode (live, dry_run) and outcome.", ["kind", "reason", "mode", "outcome"]);
        var mode = dryRun ? "dry_run" : "live";
        foreach (var kind in DecisionKinds)
        {
            // No reason yet: the empty reason label reads as absent in Prometheus; real decisions carry theirs.
            foreach (var outcome in dryRun ? ["dry_run"] : DecisionOutcomes)
            {
                decisions.WithLabels(kind, string.Empty, mode, outcome);
            }
        }

        var warnings = factory.CreateCounter("stratumproxy_curtailment_warnings_total", "Rigs that did not do what they were told (e.g. still hashing after sleep), by kind.", ["kind"]);
        foreach (var kind in WarningKinds)
        {
            warnings.WithLabels(kind);
        }
    }
}
