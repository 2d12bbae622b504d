using System.CommandLine;
using System.Globalization;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Cli;

/// <summary>The verb and the options of one invocation of <c>run</c> or <c>check-config</c> (see <see cref="StratumProxyCli"/>).</summary>
public sealed class CommandLine
{
    /// <summary>The verb: run (default), check-config, economics, backtest, demo, version, help.</summary>
    public string Verb { get; private init; } = "run";

    /// <summary>Arguments after the verb, for the verbs with options of their own (economics, backtest, demo).</summary>
    public List<string> VerbArguments { get; } = [];

    /// <summary><c>--config FILE</c>.</summary>
    public string? ConfigFile { get; private init; }

    /// <summary><c>--listen HOST:PORT</c> (repeatable).</summary>
    public List<string> Listen { get; } = [];

    /// <summary><c>--pool URL</c> (repeatable, priority order).</summary>
    public List<string> Pools { get; } = [];

    /// <summary><c>--user ACCOUNT[.WORKER]</c>.</summary>
    public string? User { get; private init; }

    /// <summary><c>--password</c>.</summary>
    public string? Password { get; private init; }

    /// <summary><c>--admin HOST:PORT</c>.</summary>
    public string? Admin { get; private init; }

    /// <summary><c>--mode aggregating|passthrough</c>.</summary>
    public PoolMode? Mode { get; private init; }

    /// <summary><c>--start-difficulty</c>.</summary>
    public double? StartDifficulty { get; private init; }

    /// <summary><c>--min-difficulty</c>.</summary>
    public double? MinDifficulty { get; private init; }

    /// <summary><c>--max-difficulty</c>.</summary>
    public double? MaxDifficulty { get; private init; }

    /// <summary><c>--strict</c>: unknown configuration keys are errors, not warnings.</summary>
    public bool Strict { get; private init; }

    /// <summary>
    /// <c>--takeover</c>: start by taking over the listeners, miner and pool connections of the process that listens on
    /// <c>Proxy:Takeover:SocketPath</c>, instead of binding and dialling.
    /// </summary>
    public bool Takeover { get; private init; }

    /// <summary><c>--Section:Key=value</c> overrides, in the form the configuration command-line provider takes.</summary>
    public List<string> ConfigOverrides { get; } = [];

    /// <summary>The generated help of the executable (what <c>stratum-proxy help</c> prints).</summary>
    public static string Usage => StratumProxyCli.Help();

    /// <summary>
    /// Parses the arguments as the executable does; throws <see cref="ArgumentException"/> with the one-line message
    /// the executable prints (exit code 2) for a bad one.
    /// </summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return StratumProxyCli.ParseCommandLine(args);
    }

    /// <summary>The options of <c>run</c> and <c>check-config</c> (the root command carries them too: run is the default verb).</summary>
    internal sealed class Options
    {
        public Option<string?> Config { get; } = CliOption.Text("--config", "FILE", "one more JSON file layered over appsettings.json (reloaded on change)");

        public Option<List<string>> Listen { get; } = CliOption.Repeated("--listen", "HOST:PORT", "the miner listener (repeatable; replaces the configured listeners)", text => Endpoint(text, "--listen"));

        public Option<List<string>> Pool { get; } = CliOption.Repeated(
            "--pool",
            "URL",
            "an upstream pool, stratum+tcp://host:port or stratum+ssl://host:port (repeatable, in priority order; replaces the configured pools)",
            text => PoolUrl.TryParse(text, out _, out var reason) ? text : throw new ArgumentException($"--pool '{text}': {reason}"));

        public Option<string?> User { get; } = CliOption.Text("--user", "ACCOUNT[.WORKER]", "pool account for --pool");

        public Option<string?> Password { get; } = CliOption.Text("--password", "PASS", "pool password for --pool (default x)");

        public Option<PoolMode?> Mode { get; } = CliOption.Single<PoolMode?>(
            "--mode",
            "MODE",
            "aggregating (default) or passthrough, for --pool",
            text => Enum.TryParse<PoolMode>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed
                : throw new ArgumentException($"--mode '{text}': use aggregating or passthrough"));

        public Option<string?> Admin { get; } = CliOption.Single<string?>("--admin", "HOST:PORT", "HTTP endpoint for /metrics, /healthz, /api/status and the status page", text => Endpoint(text, "--admin"));

        public Option<double?> StartDifficulty { get; } = CliOption.Single<double?>("--start-difficulty", "D", "vardiff start difficulty (fractions allowed, e.g. 0.001)", text => Difficulty(text, "--start-difficulty"));

        public Option<double?> MinDifficulty { get; } = CliOption.Single<double?>("--min-difficulty", "D", "vardiff minimum difficulty", text => Difficulty(text, "--min-difficulty"));

        public Option<double?> MaxDifficulty { get; } = CliOption.Single<double?>("--max-difficulty", "D", "vardiff maximum difficulty", text => Difficulty(text, "--max-difficulty"));

        public Option<bool> Strict { get; } = CliOption.Flag("--strict", "unknown configuration keys are errors, not warnings");

        public Option<bool> Takeover { get; } = CliOption.Flag("--takeover", "take over the connections of the running process at Proxy:Takeover:SocketPath (an upgrade without dropping a rig)");

        /// <summary>Adds the options to a command.</summary>
        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Config, Listen, Pool, User, Password, Mode, Admin, StartDifficulty, MinDifficulty, MaxDifficulty, Strict, Takeover })
            {
                command.Options.Add(option);
            }
        }

        /// <summary>The invocation, checked across options; throws <see cref="ArgumentException"/>.</summary>
        public CommandLine Bind(ParseResult result, string verb, IReadOnlyList<string> configOverrides)
        {
            var line = new CommandLine
            {
                Verb = verb,
                ConfigFile = result.GetValue(Config),
                User = result.GetValue(User),
                Password = result.GetValue(Password),
                Mode = result.GetValue(Mode),
                Admin = result.GetValue(Admin),
                StartDifficulty = result.GetValue(StartDifficulty),
                MinDifficulty = result.GetValue(MinDifficulty),
                MaxDifficulty = result.GetValue(MaxDifficulty),
                Strict = result.GetValue(Strict),
                Takeover = result.GetValue(Takeover),
            };
            line.Listen.AddRange(result.GetValue(Listen) ?? []);
            line.Pools.AddRange(result.GetValue(Pool) ?? []);
            line.ConfigOverrides.AddRange(configOverrides);

            if ((line.User is not null || line.Password is not null || line.Mode is not null) && line.Pools.Count == 0)
            {
                throw new ArgumentException("--user, --password and --mode apply to --pool; give at least one --pool");
            }

            if (line.Takeover && verb != "run")
            {
                throw new ArgumentException("--takeover applies to run only");
            }

            if (line.Pools.Count > 0 && line.User is null)
            {
                throw new ArgumentException("--pool needs --user ACCOUNT[.WORKER] (the pool account miners' shares are credited to)");
            }

            return line;
        }
    }

    /// <summary>A verb whose options are its own: the arguments after it are kept for it.</summary>
    internal static CommandLine ForVerb(string verb, IEnumerable<string> arguments)
    {
        var line = new CommandLine { Verb = verb };
        line.VerbArguments.AddRange(arguments);
        return line;
    }

    private static string Endpoint(string value, string name) =>
        EndpointParser.TryParse(value, out _, out var reason) ? value : throw new ArgumentException($"{name} '{value}': {reason}");

    private static double Difficulty(string value, string name) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 && double.IsFinite(d)
            ? d
            : throw new ArgumentException($"{name} '{value}': a positive number is needed (fractions such as 0.001 are allowed)");
}
