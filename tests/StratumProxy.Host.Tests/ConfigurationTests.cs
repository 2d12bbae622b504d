using Microsoft.Extensions.Configuration;
using StratumProxy.Cli;
using StratumProxy.Hosting;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Host.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ProxyOptions Load(CommandLine cli, out IReadOnlyList<string> errors)
    {
        var builder = new ConfigurationBuilder();
        ProxyHost.AddLayers(builder, cli, _directory);
        return new ConfigLoader(builder.Build(), cli).Load(out errors);
    }

    [Fact]
    public void The_embedded_default_is_valid_and_listens_on_3333()
    {
        var options = Load(CommandLine.Parse([]), out var errors);
        Assert.Empty(errors);
        Assert.Equal("0.0.0.0:3333", Assert.Single(options.Listeners).Endpoint);
        Assert.NotEmpty(options.Pools);

        var builder = new ConfigurationBuilder();
        ProxyHost.AddLayers(builder, CommandLine.Parse([]), _directory);
        Assert.Equal("0.0.0.0:9100", new ConfigLoader(builder.Build(), CommandLine.Parse([])).LoadAdmin().Endpoint);
    }

    [Fact]
    public void The_repository_appsettings_and_the_example_farm_config_are_valid()
    {
        var root = RepositoryRoot();
        foreach (var file in new[] { Path.Combine(root, "appsettings.json"), Path.Combine(root, "config", "farm.example.json") })
        {
            var options = Load(CommandLine.Parse(["--config", file]), out var errors);
            Assert.True(errors.Count == 0, file + ": " + string.Join("; ", errors));
            Assert.NotEmpty(options.Pools);
        }
    }

    [Fact]
    public void A_config_file_layers_over_the_default_and_bad_values_name_their_key()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """
            { "Proxy": {
                "Pools": [ { "Name": "a", "Url": "stratum+tcp://a:1", "User": "u" }, { "Name": "a", "Url": "ftp://b:2", "User": "u" } ],
                "Difficulty": { "Min": 10, "Max": 1, "Start": 5 },
                "Pins": { "rig7": "nope" }
            } }
            """);
        Load(CommandLine.Parse(["--config", file]), out var errors);
        var all = string.Join("\n", errors);
        Assert.Contains("Proxy:Pools:1:Url 'ftp://b:2': unknown scheme 'ftp'", all, StringComparison.Ordinal);
        Assert.Contains("Proxy:Pools: 'a' appears 2 times", all, StringComparison.Ordinal);
        Assert.Contains("Proxy:Difficulty: Min (10) is above Max (1)", all, StringComparison.Ordinal);
        Assert.Contains("Proxy:Pins:rig7: no pool is named 'nope'", all, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_an_error_not_a_crash()
    {
        var file = Path.Combine(_directory, "bad.json");
        File.WriteAllText(file, """{ "Proxy": { "Miners": { "MaxLineLength": "big" } } }""");
        Load(CommandLine.Parse(["--config", file]), out var errors);
        Assert.Contains(errors, e => e.Contains("MaxLineLength", StringComparison.Ordinal) || e.Contains("big", StringComparison.Ordinal));
    }

    [Fact]
    public void Environment_variables_and_section_arguments_override_files()
    {
        var cli = CommandLine.Parse(["--Proxy:Miners:Extranonce2Size=8"]);
        Environment.SetEnvironmentVariable("STRATUMPROXY_Proxy__Miners__MaxLineLength", "4096");
        try
        {
            var options = Load(cli, out var errors);
            Assert.Empty(errors);
            Assert.Equal(8, options.Miners.Extranonce2Size);
            Assert.Equal(4096, options.Miners.MaxLineLength);
        }
        finally
        {
            Environment.SetEnvironmentVariable("STRATUMPROXY_Proxy__Miners__MaxLineLength", null);
        }
    }

    [Fact]
    public void A_missing_config_file_is_a_clear_error()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => Load(CommandLine.Parse(["--config", "nope.json"]), out _));
        Assert.Contains("--config: no such file", ex.Message, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        // The test binaries may live outside the clone (--artifacts-path): try the output, the working directory,
        // then this source file's own folder.
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory(), Path.GetDirectoryName(sourceFile) ?? string.Empty })
        {
            var directory = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "StratumProxy.sln")))
            {
                directory = directory.Parent;
            }

            if (directory is not null)
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("StratumProxy.sln not found above the test output, the working directory or the test source");
    }
}
