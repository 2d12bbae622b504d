namespace StratumProxy.Fuzz;

/// <summary>
/// One fuzz target: feeds one input to one parser the way the product does, and lets only the product's documented
/// failures pass. Whatever else escapes <see cref="Run"/> is a crash: afl-fuzz records the input, and a replay fails.
/// </summary>
internal abstract class Harness
{
    /// <summary>The target's name on the command line and its corpus folder's name.</summary>
    public abstract string Name { get; }

    /// <summary>One line: what the target reads and which failures are documented (allowed).</summary>
    public abstract string Summary { get; }

    /// <summary>Runs one input. Throws only for a finding.</summary>
    public abstract void Run(byte[] input);

    /// <summary>The seed inputs, built from the repository's recorded vectors and sample files.</summary>
    public abstract IEnumerable<Seed> Seeds(SeedSources sources);
}

/// <summary>A seed file: its name in the corpus folder and its bytes.</summary>
internal sealed record Seed(string Name, byte[] Bytes);

/// <summary>What a harness is told when an input breaks the product's contract (the message names the target).</summary>
internal sealed class FuzzFindingException(string message, Exception? inner = null) : Exception(message, inner);
