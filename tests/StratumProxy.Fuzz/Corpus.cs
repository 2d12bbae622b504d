namespace StratumProxy.Fuzz;

/// <summary>Writing seed corpora and replaying corpus folders in-process (no afl, no instrumentation).</summary>
internal static class Corpus
{
    /// <summary>Runs every file of <paramref name="folder"/> through <paramref name="harness"/>; returns the number of findings.</summary>
    public static int Replay(Harness harness, string folder, TextWriter output)
    {
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == 0)
        {
            output.WriteLine($"{harness.Name}: no inputs in {folder}");
            return 1;
        }

        var findings = 0;
        foreach (var file in files)
        {
            if (ReplayOne(harness, File.ReadAllBytes(file)) is { } error)
            {
                findings++;
                output.WriteLine($"{harness.Name}: FINDING {Path.GetFileName(file)}: {error}");
            }
        }

        output.WriteLine($"{harness.Name}: {files.Length} inputs, {findings} findings");
        return findings;
    }

    /// <summary>Runs one input; returns the escaped exception (the finding) or null.</summary>
    public static Exception? ReplayOne(Harness harness, byte[] input)
    {
        try
        {
            harness.Run(input);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    public static int WriteSeeds(string repositoryRoot, string outputRoot, TextWriter output)
    {
        var sources = new SeedSources(repositoryRoot);
        foreach (var harness in Targets.All)
        {
            var folder = Path.Combine(outputRoot, harness.Name);
            Directory.CreateDirectory(folder);
            var count = 0;
            foreach (var seed in harness.Seeds(sources))
            {
                File.WriteAllBytes(Path.Combine(folder, seed.Name), seed.Bytes);
                count++;
            }

            output.WriteLine($"{harness.Name}: {count} seeds");
        }

        return 0;
    }
}
