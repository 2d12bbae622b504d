namespace StratumProxy.Store;

/// <summary>
/// The shared store's schema, as numbered migrations. Each is applied once, in order, in its own transaction, under an
/// advisory lock so that instances starting together do not race; <c>schema_version</c> records what was applied. A
/// migration is never edited once released: a change is a new migration.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>The advisory lock key that serialises migrations (any constant; "SPRX" in ASCII).</summary>
    public const long MigrationLock = 0x53505258;

    /// <summary>The migrations, by version.</summary>
    public static readonly IReadOnlyList<(int Version, string Description, string Sql)> Migrations =
    [
        (1, "farm store: rigs, leader lease, instances, sessions, hashrates, ledger, evaluations, commands, assignments, audit", """
            CREATE TABLE rig (
                rig text PRIMARY KEY,
                state text NOT NULL,
                pool text NULL,
                mode integer NOT NULL DEFAULT 0,
                since_utc timestamptz NOT NULL,
                last_command text NULL,
                last_outcome text NULL,
                last_command_utc timestamptz NULL,
                last_read_utc timestamptz NULL,
                last_agreed_utc timestamptz NULL,
                last_disagreement text NULL,
                last_disagreement_utc timestamptz NULL,
                epoch bigint NOT NULL);
            CREATE TABLE loop_value (
                key text PRIMARY KEY,
                value text NULL);
            CREATE TABLE leader_lease (
                id integer PRIMARY KEY CHECK (id = 1),
                holder text NOT NULL,
                epoch bigint NOT NULL,
                acquired_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL);
            CREATE TABLE instance (
                instance text PRIMARY KEY,
                started_at timestamptz NOT NULL,
                last_seen timestamptz NOT NULL,
                leads boolean NOT NULL DEFAULT false);
            CREATE TABLE instance_session (
                instance text NOT NULL,
                session_id bigint NOT NULL,
                worker text NULL,
                pool text NULL,
                remote text NULL,
                connected_at timestamptz NOT NULL,
                PRIMARY KEY (instance, session_id));
            CREATE TABLE rig_hashrate (
                rig text NOT NULL,
                instance text NOT NULL,
                at_utc timestamptz NOT NULL,
                hashrate_5m double precision NOT NULL,
                accepted bigint NOT NULL,
                accepted_difficulty double precision NOT NULL,
                last_share_unix_ms bigint NOT NULL,
                PRIMARY KEY (rig, instance, at_utc));
            CREATE TABLE rig_hour (
                rig text NOT NULL,
                hour_utc timestamptz NOT NULL,
                hours double precision NOT NULL DEFAULT 0,
                kwh_used double precision NOT NULL DEFAULT 0,
                kwh_avoided double precision NOT NULL DEFAULT 0,
                revenue_usd double precision NOT NULL DEFAULT 0,
                cost_usd double precision NOT NULL DEFAULT 0,
                savings_usd double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (rig, hour_utc));
            CREATE TABLE evaluation (
                epoch bigint NOT NULL,
                at_utc timestamptz NOT NULL,
                instance text NOT NULL,
                PRIMARY KEY (epoch, at_utc));
            CREATE TABLE rig_command (
                decision_id text PRIMARY KEY,
                rig text NOT NULL,
                kind text NOT NULL,
                epoch bigint NOT NULL,
                instance text NOT NULL,
                issued_at timestamptz NOT NULL,
                outcome text NULL,
                detail text NULL);
            CREATE INDEX rig_command_rig ON rig_command (rig, issued_at);
            CREATE TABLE assignment (
                rig text PRIMARY KEY,
                pool text NULL,
                power text NOT NULL,
                mode integer NOT NULL,
                epoch bigint NOT NULL,
                updated_at timestamptz NOT NULL);
            CREATE TABLE audit (
                id bigserial PRIMARY KEY,
                at_utc timestamptz NOT NULL,
                rig text NOT NULL,
                epoch bigint NOT NULL,
                instance text NOT NULL,
                entry jsonb NOT NULL);
            CREATE INDEX audit_at ON audit (at_utc);
            """),
        (2, "retention: the history tables indexed by time, so old rows are found without a scan", """
            CREATE INDEX evaluation_at ON evaluation (at_utc);
            CREATE INDEX rig_command_issued ON rig_command (issued_at);
            """),
    ];
}
