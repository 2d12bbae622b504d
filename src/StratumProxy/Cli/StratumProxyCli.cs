using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace StratumProxy.Cli;

/// <summary>Where a verb writes, the clock it reads, and whether its stderr is a terminal (the backtest's progress line).</summary>
internal sealed record CliEnvironment(TextWriter Out, TextWriter Error, TimeProvider Time, bool StderrIsTerminal)
{
    /// <summary>This process's console and the system clock.</summary>
    public static CliEnvironment FromConsole() =>
        new(Console.Out, Console.Error, TimeProvider.System, !Console.IsErrorRedirected);

    /// <summary>Writes nowhere: for parsing only.</summary>
    public static CliEnvironment Quiet { get; } = new(TextWriter.Null, TextWriter.Null, TimeProvider.System, false);
}

/// <summary>
/// The <c>stratum-proxy</c> command line (System.CommandLine): one root command that runs the proxy, and the verbs
/// run, check-config, economics, backtest, demo, version and help, with generated help (<c>--help</c> on any verb)
/// and completions (the <c>[suggest]</c> directive that <c>dotnet-suggest</c> uses). Exit codes: 0 ok, 1 configuration
/// or start-up error, 2 usage error (one line on stderr, <c>error: …</c>).
/// </summary>
public static class StratumProxyCli
{
    public const int ExitOk = 0;
    public const int ExitConfig = 1;
    public const int ExitUsage = 2;

    private const string VerbList = "run, check-config, economics, backtest, demo, version, help";

    private const string Description = """
        stratum-proxy — a Stratum V1 proxy for Bitcoin mining farms. Without a verb it runs the proxy.

        Any configuration key can be set with --Section:Key=value (e.g. --Proxy:Miners:Extranonce2Size=8) or with
        the environment variable STRATUMPROXY_Section__Key=value.
        """;

    /// <summary>Response files (<c>@file</c>) are off: an argument is what it says.</summary>
    private static readonly ParserConfiguration Parser = new() { ResponseFileTokenReplacer = null };

    /// <summary>Runs one invocation of the executable and returns its exit code.</summary>
    internal static async Task<int> InvokeAsync(IReadOnlyList<string> args, CliEnvironment environment)
    {
        if (Prepare(args, environment, out var parsed) is { } exit)
        {
            return exit;
        }

        return await parsed.InvokeAsync(Invocation(environment)).ConfigureAwait(false);
    }

    /// <summary>As <see cref="InvokeAsync"/>, for the verbs that finish on their own (economics, backtest, version, help).</summary>
    internal static int Invoke(IReadOnlyList<string> args, CliEnvironment environment) =>
        Prepare(args, environment, out var parsed) ?? parsed.Invoke(Invocation(environment));

    /// <summary>
    /// Runs one verb that finishes on its own (<c>economics</c>, <c>backtest</c>) with the arguments after it, writing
    /// to <paramref name="stdout"/> and <paramref name="stderr"/>; returns the exit code.
    /// </summary>
    /// <param name="verb">The verb.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="stdout">Its result.</param>
    /// <param name="stderr">Its errors (and the backtest's progress line).</param>
    /// <param name="time">The clock (the system's when null).</param>
    /// <param name="stderrIsTerminal">Whether <paramref name="stderr"/> is a terminal; when null, whether it is this process's own stderr on a terminal.</param>
    public static int InvokeVerb(string verb, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider? time = null, bool? stderrIsTerminal = null)
    {
        ArgumentNullException.ThrowIfNull(verb);
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var terminal = stderrIsTerminal ?? (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
        return Invoke([verb, .. args], new CliEnvironment(stdout, stderr, time ?? TimeProvider.System, terminal));
    }

    /// <summary>The generated help of the root command.</summary>
    internal static string Help()
    {
        using var text = new StringWriter();
        Invoke(["--help"], CliEnvironment.Quiet with { Out = text });
        return text.ToString();
    }

    /// <summary>Parses without running: see <see cref="CommandLine.Parse"/>.</summary>
    internal static CommandLine ParseCommandLine(IReadOnlyList<string> args)
    {
        var (tokens, overrides, error) = SplitConfigOverrides(args);
        if (error is not null)
        {
            throw new ArgumentException(error);
        }

        if (tokens.Count > 0 && tokens[0] is "economics" or "backtest" or "demo")
        {
            return CommandLine.ForVerb(tokens[0], tokens.Skip(1));
        }

        var tree = new Tree(CliEnvironment.Quiet, overrides);
        var result = tree.Root.Parse(tokens, Parser);
        if (result.Errors.Count > 0)
        {
            throw new ArgumentException(Describe(result, tokens));
        }

        return result.Action switch
        {
            HelpAction => CommandLine.ForVerb("help", []),
            PrintVersion => CommandLine.ForVerb("version", []),
            _ => result.CommandResult.Command is RootCommand
                ? tree.RunOptions.Bind(result, "run", overrides)
                : result.CommandResult.Command.Name is "run" or "check-config"
                    ? tree.RunOptions.Bind(result, result.CommandResult.Command.Name, overrides)
                    : CommandLine.ForVerb(result.CommandResult.Command.Name, []),
        };
    }

    private static int? Prepare(IReadOnlyList<string> args, CliEnvironment environment, out ParseResult parsed)
    {
        ArgumentNullException.ThrowIfNull(args);
        parsed = null!;
        var (tokens, overrides, error) = SplitConfigOverrides(args);
        if (error is not null)
        {
            environment.Error.WriteLine("error: " + error);
            return ExitUsage;
        }

        parsed = new Tree(environment, overrides).Root.Parse(tokens, Parser);
        if (parsed.Errors.Count > 0)
        {
            environment.Error.WriteLine("error: " + Describe(parsed, tokens));
            return ExitUsage;
        }

        return null;
    }

    private static InvocationConfiguration Invocation(CliEnvironment environment) => new()
    {
        Output = environment.Out,
        Error = environment.Error,
        // The host handles Ctrl+C and its own failures; the exit codes are the verbs' own.
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = null,
    };

    /// <summary>
    /// Takes the <c>--Section:Key=value</c> (or <c>--Section:Key value</c>) configuration overrides out of the
    /// arguments of run and check-config, in the form the configuration command-line provider takes.
    /// </summary>
    private static (List<string> Tokens, List<string> Overrides, string? Error) SplitConfigOverrides(IReadOnlyList<string> args)
    {
        var tokens = new List<string>(args.Count);
        var overrides = new List<string>();
        var start = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            if (args[0] is not ("run" or "check-config"))
            {
                return ([.. args], overrides, null);
            }

            tokens.Add(args[0]);
            start = 1;
        }

        for (var i = start; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            if (!arg.StartsWith("--", StringComparison.Ordinal) || !name.Contains(':', StringComparison.Ordinal))
            {
                tokens.Add(arg);
                continue;
            }

            if (eq > 0)
            {
                overrides.Add(arg);
            }
            else if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
            {
                return (tokens, overrides, $"{name} needs a value");
            }
            else
            {
                overrides.Add($"{name}={args[++i]}");
            }
        }

        return (tokens, overrides, null);
    }

    /// <summary>The one line shown for a bad command line.</summary>
    private static string Describe(ParseResult result, List<string> tokens)
    {
        var command = result.CommandResult.Command;
        if (result.UnmatchedTokens.Count > 0)
        {
            var token = result.UnmatchedTokens[0];
            if (command is RootCommand && tokens.Count > 0 && tokens[0] == token && !token.StartsWith('-'))
            {
                return $"unknown verb '{token}'; the verbs are {VerbList}";
            }

            return command.Name switch
            {
                "economics" or "backtest" => $"unknown option '{token}' (see --help)",
                "demo" => $"demo: unexpected '{token}'; see stratum-proxy demo --help",
                _ => $"unknown option '{token}'; see stratum-proxy --help",
            };
        }

        var error = result.Errors[0];
        return error.SymbolResult switch
        {
            OptionResult { Tokens.Count: 0 } option => $"{option.IdentifierToken?.Value ?? option.Option.Name} needs a value",
            ArgumentResult { Tokens.Count: 0, Parent: OptionResult option } => $"{option.IdentifierToken?.Value ?? option.Option.Name} needs a value",
            _ => error.Message,
        };
    }

    /// <summary>The command tree of one invocation.</summary>
    private sealed class Tree
    {
        public Tree(CliEnvironment environment, IReadOnlyList<string> configOverrides)
        {
            RunOptions = new CommandLine.Options();
            Root = new RootCommand(Description);
            RunOptions.AddTo(Root);
            Root.SetAction((result, _) => Host(result, "run"));
            foreach (var versionOption in Root.Options.OfType<VersionOption>())
            {
                versionOption.Action = new PrintVersion(environment.Out);
            }

            var run = new Command("run", "run the proxy (the default verb)");
            RunOptions.AddTo(run);
            run.SetAction((result, _) => Host(result, "run"));

            var check = new Command(
                "check-config",
                "validate the configuration and exit (0 = valid, 1 = invalid); --strict makes unknown keys errors (they are warnings otherwise)");
            RunOptions.AddTo(check);
            check.SetAction((result, _) => Host(result, "check-config"));

            var version = new Command("version", "print the version");
            version.SetAction(new PrintVersion(environment.Out).Invoke);

            var help = new Command("help", "this text");
            help.SetAction(_ => Invoke(["--help"], environment));

            Root.Subcommands.Add(run);
            Root.Subcommands.Add(check);
            Root.Subcommands.Add(CliOption.Verb(new EconomicsArguments.Options(), environment, EconomicsCommand.Execute));
            Root.Subcommands.Add(CliOption.Verb(new BacktestArguments.Options(), environment, BacktestCommand.Execute));
            Root.Subcommands.Add(Demo.DemoCommand.Create(environment));
            Root.Subcommands.Add(version);
            Root.Subcommands.Add(help);

            async Task<int> Host(ParseResult result, string verb)
            {
                CommandLine line;
                try
                {
                    line = RunOptions.Bind(result, verb, configOverrides);
                }
                catch (ArgumentException ex)
                {
                    await environment.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                    return ExitUsage;
                }

                return await Program.RunHostAsync(line, environment.Out, environment.Error).ConfigureAwait(false);
            }
        }

        public RootCommand Root { get; }

        public CommandLine.Options RunOptions { get; }
    }

    /// <summary><c>version</c> and <c>--version</c>.</summary>
    private sealed class PrintVersion(TextWriter output) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            output.WriteLine($"stratum-proxy {Admin.AdminEndpoints.Version}");
            return ExitOk;
        }
    }
}
