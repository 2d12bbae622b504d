using System.Globalization;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Cli;

/// <summary>The verb and the options of one invocation.</summary>
public sealed class CommandLine
{
    /// <summary>The verb: run (default), economics, check-config, version, help.</summary>
    public string Verb { get; private set; } = "run";

    /// <summary>Arguments after the verb, for verbs that parse their own (economics).</summary>
    public List<string> VerbArguments { get; } = [];

    /// <summary><c>--config FILE</c>.</summary>
    public string? ConfigFile { get; private set; }

    /// <summary><c>--listen HOST:PORT</c> (repeatable).</summary>
    public List<string> Listen { get; } = [];

    /// <summary><c>--pool URL</c> (repeatable, priority order).</summary>
    public List<string> Pools { get; } = [];

    /// <summary><c>--user ACCOUNT[.WORKER]</c>.</summary>
    public string? User { get; private set; }

    /// <summary><c>--password</c>.</summary>
    public string? Password { get; private set; }

    /// <summary><c>--admin HOST:PORT</c>.</summary>
    public string? Admin { get; private set; }

    /// <summary><c>--mode aggregating|passthrough</c>.</summary>
    public PoolMode? Mode { get; private set; }

    /// <summary><c>--start-difficulty</c>.</summary>
    public double? StartDifficulty { get; private set; }

    /// <summary><c>--min-difficulty</c>.</summary>
    public double? MinDifficulty { get; private set; }

    /// <summary><c>--max-difficulty</c>.</summary>
    public double? MaxDifficulty { get; private set; }

    /// <summary><c>--strict</c>: unknown configuration keys are errors, not warnings.</summary>
    public bool Strict { get; private set; }

    /// <summary><c>--Section:Key=value</c> overrides, in the form the configuration command-line provider takes.</summary>
    public List<string> ConfigOverrides { get; } = [];

    /// <summary>Usage text.</summary>
    public const string Usage = """
        stratum-proxy — a Stratum V1 proxy for Bitcoin mining farms

        Usage:
          stratum-proxy [run] [options]          run the proxy (the default verb)
          stratum-proxy check-config [options]   validate the configuration and exit (0 = valid, 1 = invalid);
                                                 --strict makes unknown keys errors (they are warnings otherwise)
          stratum-proxy economics [options]      revenue, cost and shutdown price per rig model (economics --help)
          stratum-proxy demo [options]           the proxy in front of a simulated farm, pools and market (demo --help)
          stratum-proxy backtest --series FILE   replay a price/difficulty/electricity series through the curtailment
                                                 policy, always-on and a strike price; needs at least one --model
                                                 NAME or --rig NAME:THS:WATTS (backtest --help)
          stratum-proxy version                  print the version
          stratum-proxy help | --help            this text

        Options (run, check-config):
          --config FILE              one more JSON file layered over appsettings.json (reloaded on change)
          --listen HOST:PORT         the miner listener (repeatable; replaces the configured listeners)
          --pool URL                 an upstream pool, stratum+tcp://host:port or stratum+ssl://host:port
                                     (repeatable, in priority order; replaces the configured pools)
          --user ACCOUNT[.WORKER]    pool account for --pool
          --password PASS            pool password for --pool (default x)
          --mode MODE                aggregating (default) or passthrough, for --pool
          --admin HOST:PORT          HTTP endpoint for /metrics, /healthz, /api/status and the status page
          --start-difficulty D       vardiff start difficulty (fractions allowed, e.g. 0.001)
          --min-difficulty D         vardiff minimum difficulty
          --max-difficulty D         vardiff maximum difficulty
          --Section:Key=value        any configuration key, e.g. --Proxy:Miners:Extranonce2Size=8

        Environment: STRATUMPROXY_Section__Key=value sets any configuration key.
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a clear message on a bad one.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = new CommandLine();
        var i = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            result.Verb = args[0] switch
            {
                "run" or "economics" or "backtest" or "demo" or "check-config" or "version" or "help" => args[0],
                _ => throw new ArgumentException($"unknown verb '{args[0]}'; the verbs are run, check-config, economics, backtest, demo, version, help"),
            };
            i = 1;
        }

        if (result.Verb is "economics" or "backtest" or "demo")
        {
            result.VerbArguments.AddRange(args.Skip(i));
            return result;
        }

        for (; i < args.Count; i++)
        {
            var arg = args[i];
            var (name, inline) = Split(arg);
            switch (name)
            {
                case "--help" or "-h" or "-?":
                    result.Verb = "help";
                    break;
                case "--version":
                    result.Verb = "version";
                    break;
                case "--strict":
                    result.Strict = true;
                    break;
                case "--config":
                    result.ConfigFile = Value(args, ref i, name, inline);
                    break;
                case "--listen":
                    result.Listen.Add(Endpoint(Value(args, ref i, name, inline), name));
                    break;
                case "--pool":
                    var url = Value(args, ref i, name, inline);
                    if (!PoolUrl.TryParse(url, out _, out var reason))
                    {
                        throw new ArgumentException($"--pool '{url}': {reason}");
                    }

                    result.Pools.Add(url);
                    break;
                case "--user":
                    result.User = Value(args, ref i, name, inline);
                    break;
                case "--password":
                    result.Password = Value(args, ref i, name, inline);
                    break;
                case "--admin":
                    result.Admin = Endpoint(Value(args, ref i, name, inline), name);
                    break;
                case "--mode":
                    var mode = Value(args, ref i, name, inline);
                    result.Mode = Enum.TryParse<PoolMode>(mode, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                        ? parsed
                        : throw new ArgumentException($"--mode '{mode}': use aggregating or passthrough");
                    break;
                case "--start-difficulty":
                    result.StartDifficulty = Difficulty(Value(args, ref i, name, inline), name);
                    break;
                case "--min-difficulty":
                    result.MinDifficulty = Difficulty(Value(args, ref i, name, inline), name);
                    break;
                case "--max-difficulty":
                    result.MaxDifficulty = Difficulty(Value(args, ref i, name, inline), name);
                    break;
                default:
                    if (arg.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
                    {
                        result.ConfigOverrides.Add(inline is null ? $"{name}={Value(args, ref i, name, null)}" : arg);
                        break;
                    }

                    throw new ArgumentException($"unknown option '{arg}'; see stratum-proxy --help");
            }
        }

        if ((result.User is not null || result.Password is not null || result.Mode is not null) && result.Pools.Count == 0)
        {
            throw new ArgumentException("--user, --password and --mode apply to --pool; give at least one --pool");
        }

        if (result.Pools.Count > 0 && result.User is null)
        {
            throw new ArgumentException("--pool needs --user ACCOUNT[.WORKER] (the pool account miners' shares are credited to)");
        }

        return result;
    }

    private static (string Name, string? Inline) Split(string arg)
    {
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
    }

    private static string Value(IReadOnlyList<string> args, ref int i, string name, string? inline)
    {
        if (inline is not null)
        {
            return inline;
        }

        if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
        {
            throw new ArgumentException($"{name} needs a value");
        }

        return args[++i];
    }

    private static string Endpoint(string value, string name) =>
        EndpointParser.TryParse(value, out _, out var reason) ? value : throw new ArgumentException($"{name} '{value}': {reason}");

    private static double Difficulty(string value, string name) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 && double.IsFinite(d)
            ? d
            : throw new ArgumentException($"{name} '{value}': a positive number is needed (fractions such as 0.001 are allowed)");
}
