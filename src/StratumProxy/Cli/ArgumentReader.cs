namespace StratumProxy.Cli;

/// <summary>
/// Walks <c>--flag value</c> and <c>--flag=value</c> arguments for the economics and backtest verbs, with one
/// clear error for a flag whose value is missing.
/// </summary>
internal sealed class ArgumentReader(IReadOnlyList<string> args)
{
    private int _index = -1;
    private string? _inline;

    /// <summary>The current flag (without any <c>=value</c>).</summary>
    public string Name { get; private set; } = string.Empty;

    /// <summary>Moves to the next argument.</summary>
    public bool MoveNext()
    {
        if (++_index >= args.Count)
        {
            return false;
        }

        var arg = args[_index];
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        (Name, _inline) = arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
        return true;
    }

    /// <summary>The current flag's value: after <c>=</c>, or the next argument.</summary>
    public string Value()
    {
        if (_inline is not null)
        {
            return _inline;
        }

        if (_index + 1 >= args.Count)
        {
            throw new UsageException($"{Name} needs a value");
        }

        return args[++_index];
    }
}
