namespace StratumProxy.Store;

/// <summary>Where the farm's shared state lives (<c>Store:Provider</c>).</summary>
public enum StoreProvider
{
    /// <summary>One instance: the embedded SQLite ledger (<c>Curtailment:Ledger</c>), always its own leader.</summary>
    Sqlite,

    /// <summary>Many instances, one farm: a PostgreSQL database they all share, with one elected leader.</summary>
    Postgres,
}

/// <summary>
/// The <c>Store</c> section: the farm store. With <see cref="StoreProvider.Sqlite"/> (the default) nothing else is read.
/// With <see cref="StoreProvider.Postgres"/> every instance names the same database; one of them leads (runs the
/// farm-wide policy) and the others follow (apply the assignments for the miners they hold). Read at start only.
/// </summary>
public sealed record StoreOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Store";

    /// <summary>Sqlite (one instance) or Postgres (many instances).</summary>
    public StoreProvider Provider { get; init; } = StoreProvider.Sqlite;

    /// <summary>
    /// The Npgsql connection string (<c>Host=…;Port=…;Database=…;Username=…;Password=…</c>). A secret: it is never
    /// logged, shown on the admin endpoint or echoed in a validation message. Best set through the environment
    /// (<c>STRATUMPROXY_Store__ConnectionString</c>) from a secret store.
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>This instance's name in the store (heartbeats, sessions, the leader lease); default: host name and process id.</summary>
    public string? InstanceName { get; init; }

    /// <summary>
    /// How long a leader's lease lasts without renewal (it renews every <see cref="PollInterval"/> and every evaluation):
    /// a dead leader is replaced after at most this long plus one <c>Curtailment:Interval</c>.
    /// </summary>
    public TimeSpan LeaderLease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an instance writes its heartbeat, sessions and hashrates, and polls the assignments (LISTEN/NOTIFY delivers them sooner).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one store command may take before it counts as the store being unreachable.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the shared store keeps the history of evaluations, rig commands and audit lines (<c>evaluation</c>,
    /// <c>rig_command</c>, <c>audit</c>): the leader deletes older rows, at most once an hour. The energy and money
    /// ledger, the assignments and the rigs' state are never pruned. At least one day.
    /// </summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(90);

    /// <summary>The instance name in force.</summary>
    public string Instance => string.IsNullOrWhiteSpace(InstanceName)
        ? $"{Environment.MachineName}-{Environment.ProcessId}"
        : InstanceName;

    /// <summary>The type's name only: the record holds a secret (<see cref="ConnectionString"/>), which is never printed.</summary>
    public override string ToString() => typeof(StoreOptions).FullName!;
}
