namespace StratumProxy.LoadTest;

/// <summary>Settings of a soak (the <c>soak</c> command).</summary>
public sealed record SoakOptions
{
    /// <summary>The proxy executable (a published <c>stratum-proxy</c>), run as a child process.</summary>
    public required string ProxyPath { get; init; }

    /// <summary>Where the configuration, the proxy's log and data, the samples and the report go.</summary>
    public required string WorkDirectory { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Miner sessions kept open (each slot reconnects under the same worker name when churned).</summary>
    public int Sessions { get; init; } = 500;

    /// <summary>Submits per second over all sessions.</summary>
    public double Rate { get; init; } = 100;

    /// <summary>Sessions per second that disconnect (after their answers are in) and connect again.</summary>
    public double Churn { get; init; } = 2;

    public double ConnectRate { get; init; } = 500;

    public int Window { get; init; } = 4;

    public ShareMix Mix { get; init; } = ShareMix.Parse("valid=2,bad-nonce=6,stale=1,duplicate=1");

    /// <summary>One of the two pools drops every connection this often (they take turns).</summary>
    public TimeSpan PoolDropEvery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The configuration file is edited this often (the proxy reloads it while running).</summary>
    public TimeSpan ReloadEvery { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Simulated rigs (catalog models with a cgminer API) the curtailment loop acts on.</summary>
    public int Rigs { get; init; } = 4;

    /// <summary>Rigs hash at this fraction of their rated speed; the market's network difficulty is scaled alike.</summary>
    public double RigScale { get; init; } = 1e-10;

    /// <summary>The miners' fixed floor difficulty (start and minimum); valid shares cost about D × 2³² hashes.</summary>
    public double MinerDifficulty { get; init; } = 1e-6;

    public SoakThresholds Thresholds { get; init; } = new();

    public void Validate()
    {
        if (Sessions < 1 || Rate <= 0 || Churn < 0 || ConnectRate <= 0 || Window < 1 || Window > LoadOptions.MaxWindow || Rigs < 0 || Rigs > SoakRun.MaxRigs || Duration <= TimeSpan.Zero || SampleEvery <= TimeSpan.Zero)
        {
            throw new ArgumentException("soak: --sessions ≥ 1, --rate > 0, --churn ≥ 0, --connect-rate > 0, 1 ≤ --window ≤ 1024, 0 ≤ --rigs ≤ 8, --duration and --sample > 0");
        }

        if (!File.Exists(ProxyPath))
        {
            throw new ArgumentException($"soak: --proxy '{ProxyPath}' does not exist (publish it: dotnet publish src/StratumProxy -c Release -o DIR)");
        }
    }
}
