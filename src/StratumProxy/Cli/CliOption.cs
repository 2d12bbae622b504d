using System.CommandLine;
using System.CommandLine.Parsing;

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
