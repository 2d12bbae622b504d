using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using StratumProxy.Economics.Rigs;

namespace StratumProxy.Cli;

/// <summary>
/// Options of the verbs, built the same way: a value checked when it is parsed, its message worded as the product
/// words it (a bad value is a parse error, shown as one line, exit code 2). A single-valued option given twice keeps
/// the last value; a repeatable one takes one value per occurrence (<c>--model A --model B</c>).
/// </summary>
internal static class CliOption
{
    /// <summary>A single value; <paramref name="parse"/> returns it or throws <see cref="UsageException"/> or <see cref="ArgumentException"/> with the message.</summary>
    public static Option<T?> Single<T>(string name, string helpName, string description, Func<string, T> parse)
    {
        var option = new Option<T?>(name)
        {
            HelpName = helpName,
            Description = description,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = result => Convert(result, result.Tokens[^1].Value, parse);
        return option;
    }

    /// <summary>A text value, unchecked.</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        Single(name, helpName, description, text => text);

    /// <summary>A repeatable value, each checked by <paramref name="parse"/>.</summary>
    public static Option<List<T>> Repeated<T>(string name, string helpName, string description, Func<string, T> parse)
    {
        var option = new Option<List<T>>(name)
        {
            HelpName = helpName,
            Description = description,
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
        };
        option.CustomParser = result =>
        {
            var values = new List<T>(result.Tokens.Count);
            foreach (var token in result.Tokens)
            {
                var value = Convert(result, token.Value, parse);
                if (result.Errors.Any())
                {
                    break;
                }

                values.Add(value!);
            }

            return values;
        };
        return option;
    }

    /// <summary>A switch without a value.</summary>
    public static Option<bool> Flag(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    /// <summary>
    /// A verb whose options bind into one arguments record: <paramref name="execute"/> gets the record
    /// (<see cref="IVerbOptions{TArguments}.Bind"/>) and returns the exit code.
    /// </summary>
    public static Command Verb<TArguments>(IVerbOptions<TArguments> options, CliEnvironment environment, Func<TArguments, CliEnvironment, int> execute) =>
        Verb(options.Name, options.Description, options.All, environment, result => execute(options.Bind(result), environment));

    /// <summary>
    /// A verb with its options; <paramref name="run"/> returns the exit code, and a <see cref="UsageException"/> it
    /// throws is one line on stderr (<c>error: …</c>) and exit code 2.
    /// </summary>
    public static Command Verb(string name, string description, IEnumerable<Option> options, CliEnvironment environment, Func<ParseResult, int> run)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(result =>
        {
            try
            {
                return run(result);
            }
            catch (UsageException e)
            {
                environment.Error.WriteLine("error: " + e.Message);
                return StratumProxyCli.ExitUsage;
            }
        });
        return command;
    }

    /// <summary>The rig catalog a verb's <c>--catalog</c> names (the built-in copy when none); an unreadable one is a usage error.</summary>
    public static RigCatalog Catalog(string? path)
    {
        if (path is null)
        {
            return RigCatalog.LoadEmbedded();
        }

        try
        {
            return Files.EconomicsFiles.LoadCatalog(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new UsageException($"cannot read catalog '{path}': {e.Message}");
        }
    }

    /// <summary>A finite number in the invariant culture, or <see cref="UsageException"/> naming the flag.</summary>
    public static double Number(string flag, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new UsageException($"{flag} must be a number (got '{text}')");

    private static T? Convert<T>(ArgumentResult result, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is UsageException or ArgumentException)
        {
            result.AddError(e.Message);
            return default;
        }
    }
}

/// <summary>The command line of a verb: its name, its help text, its options, and how they bind into its arguments record.</summary>
/// <typeparam name="TArguments">The verb's arguments.</typeparam>
internal interface IVerbOptions<out TArguments>
{
    /// <summary>The verb.</summary>
    string Name { get; }

    /// <summary>The verb's line in the help.</summary>
    string Description { get; }

    /// <summary>Every option of the verb, in help order.</summary>
    IEnumerable<Option> All { get; }

    /// <summary>The arguments, checked across options; throws <see cref="UsageException"/> with a one-line message.</summary>
    TArguments Bind(ParseResult result);
}
