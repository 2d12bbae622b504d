using StratumProxy.Fuzz;

// stratum-proxy fuzz harnesses (docs/fuzzing.md):
//   list                          the targets, one per line
//   TARGET                        run under afl-fuzz (the input comes on stdin; run.sh sets this up)
//   TARGET --replay DIR           run every file in DIR once, in-process, without afl
//   all --replay [CORPUS]         every target over CORPUS/<target> (default: the corpus beside this program)
//   seed REPO-ROOT OUT            write the seed corpora built from tests/vectors and config/ to OUT/<target>
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Error.WriteLine("usage: list | TARGET | TARGET --replay DIR | all --replay [CORPUS] | seed REPO-ROOT OUT");
    return args.Length == 0 ? 2 : 0;
}

switch (args[0])
{
    case "list":
        foreach (var harness in Targets.All)
        {
            Console.WriteLine($"{harness.Name,-14} {harness.Summary}");
        }

        return 0;
    case "seed" when args.Length == 3:
        return Corpus.WriteSeeds(args[1], args[2], Console.Out);
}

if (args.Length >= 2 && args[1] == "--replay")
{
    var findings = 0;
    if (args[0] == "all")
    {
        var root = args.Length > 2 ? args[2] : Path.Combine(AppContext.BaseDirectory, "corpus");
        foreach (var harness in Targets.All)
        {
            findings += Corpus.Replay(harness, Path.Combine(root, harness.Name), Console.Out);
        }
    }
    else if (Targets.Find(args[0]) is { } harness && args.Length > 2)
    {
        findings = Corpus.Replay(harness, args[2], Console.Out);
    }
    else
    {
        Console.Error.WriteLine($"unknown target '{args[0]}' or no corpus folder (see list)");
        return 2;
    }

    return findings == 0 ? 0 : 1;
}

if (Targets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine($"unknown target '{args[0]}' (see list)");
    return 2;
}

// Under afl-fuzz: the fork server loop, one input per iteration; an exception that escapes is reported as a crash.
SharpFuzz.Fuzzer.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target.Run(copy.ToArray());
});
return 0;
