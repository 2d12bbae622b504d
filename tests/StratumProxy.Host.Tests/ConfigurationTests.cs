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

    private ConfigLoader Loader(CommandLine cli, string? workingDirectory = null)
    {
        var builder = new ConfigurationBuilder();
        ProxyHost.AddLayers(builder, cli, workingDirectory ?? _directory);
        return new ConfigLoader(builder.Build(), cli, workingDirectory ?? _directory);
    }

    private static List<string> AllErrors(ConfigLoader loader)
    {
        loader.Load(out var proxy);
        loader.LoadFarm(out var farm);
        loader.LoadCurtailment(out var curtailment);
        loader.LoadAdmin(out var admin);
        return [.. loader.SyntaxErrors(), .. proxy, .. farm, .. curtailment, .. admin];
    }

    [Fact]
    public void The_embedded_default_is_valid_listens_on_3333_names_no_pool_and_keeps_admin_on_loopback()
    {
        var options = Load(CommandLine.Parse([]), out var errors);
        Assert.Empty(errors);
        Assert.Equal("0.0.0.0:3333", Assert.Single(options.Listeners).Endpoint);
        Assert.Empty(options.Pools);
        Assert.Equal("127.0.0.1:9100", Loader(CommandLine.Parse([])).LoadAdmin().Endpoint);
        Assert.Equal("127.0.0.1:9100", new AdminOptions().Endpoint);

        // Every key the default ships is one an option reads (the same check that warns about an operator's typo).
        using (var embedded = ProxyHost.OpenEmbeddedConfig())
        using (var copy = File.Create(Path.Combine(_directory, "appsettings.json")))
        {
            embedded.CopyTo(copy);
        }

        var loader = Loader(CommandLine.Parse([]));
        Assert.Empty(loader.UnknownKeys());
        Assert.Empty(AllErrors(loader));
    }

    [Fact]
    public void The_repository_appsettings_and_the_example_farm_config_are_valid_and_use_only_known_keys()
    {
        var root = RepositoryRoot();
        foreach (var file in new[] { Path.Combine(root, "appsettings.json"), Path.Combine(root, "config", "farm.example.json") })
        {
            var loader = Loader(CommandLine.Parse(["--config", file]));
            var errors = AllErrors(loader);
            Assert.True(errors.Count == 0, file + ": " + string.Join("; ", errors));
            Assert.Empty(loader.UnknownKeys());
        }

        // The example's tariff is named relative to the example itself.
        var farm = Loader(CommandLine.Parse(["--config", Path.Combine(root, "config", "farm.example.json")])).LoadFarm(out _);
        Assert.Equal(Path.Combine(root, "config", "tariffs", "time-of-use.json"), farm.TariffFile);
    }

    [Fact]
    public void A_misspelled_key_is_reported_with_its_full_key_the_nearest_known_key_and_its_file()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """
            { "Proxy": { "Minerz": { "MaxLineLength": 1 },
                         "Pools": [ { "Name": "a", "Url": "stratum+tcp://a:1", "User": "u", "Usr": "u" } ],
                         "Pools2": 1 },
              "Economics": { "Rigs": [ { "Worker": "w", "Modes": [ { "Name": "eco", "Watts": 1, "Terahashes": 1, "Wats": 2 } ] } ],
                             "Pools": { "a": { "FeePercent": 1, "Fee": 2 } } },
              "Curtailment": { "MarginPercnt": 5 },
              "Logging": { "LogLevel": { "Anything": "Warning" } },
              "Admn": {} }
            """);
        var unknown = Loader(CommandLine.Parse(["--config", file])).UnknownKeys();
        Assert.Contains($"Proxy:Minerz: unknown key; did you mean Miners? (in {file})", unknown);
        Assert.Contains($"Proxy:Pools:0:Usr: unknown key; did you mean User? (in {file})", unknown);
        Assert.Contains(unknown, u => u.StartsWith("Proxy:Pools2: unknown key; did you mean Pools?", StringComparison.Ordinal));
        Assert.Contains(unknown, u => u.StartsWith("Economics:Rigs:0:Modes:0:Wats: unknown key; did you mean Watts?", StringComparison.Ordinal));
        Assert.Contains(unknown, u => u.StartsWith("Economics:Pools:a:Fee: unknown key; known here: FeePercent, Scheme, Coin", StringComparison.Ordinal));
        Assert.Contains(unknown, u => u.StartsWith("Curtailment:MarginPercnt: unknown key; did you mean MarginPercent?", StringComparison.Ordinal));
        Assert.Contains(unknown, u => u.StartsWith("Admn: unknown key; did you mean Admin?", StringComparison.Ordinal));
        Assert.Equal(7, unknown.Count);
    }

    [Fact]
    public void Unknown_keys_from_the_environment_and_the_command_line_say_where_they_came_from()
    {
        Environment.SetEnvironmentVariable("STRATUMPROXY_Proxy__Difficulty__Strat", "5");
        try
        {
            var unknown = Loader(CommandLine.Parse(["--Proxy:Failover:BackofMax=00:00:01"])).UnknownKeys();
            Assert.Contains("Proxy:Difficulty:Strat: unknown key; did you mean Start? (in environment)", unknown);
            Assert.Contains("Proxy:Failover:BackofMax: unknown key; did you mean BackoffMax? (in command line)", unknown);
        }
        finally
        {
            Environment.SetEnvironmentVariable("STRATUMPROXY_Proxy__Difficulty__Strat", null);
        }
    }

    [Fact]
    public void A_file_that_is_not_json_is_one_line_with_file_line_and_column_and_does_not_throw()
    {
        var file = Path.Combine(_directory, "broken.json");
        File.WriteAllText(file, "{\n  \"Proxy\": {\n    \"MaxWorkerSeries\": 10,,\n  }\n}\n");
        var loader = Loader(CommandLine.Parse(["--config", file]));
        var error = Assert.Single(loader.SyntaxErrors());
        Assert.StartsWith($"{file}:3:27: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("LineNumber", error, StringComparison.Ordinal);

        File.WriteAllText(file, "[1, 2]");
        Assert.StartsWith($"{file}:1:1: the file must hold one JSON object", Assert.Single(Loader(CommandLine.Parse(["--config", file])).SyntaxErrors()), StringComparison.Ordinal);

        // A key given twice, in any case, is refused by the configuration's reader: one line naming the key.
        File.WriteAllText(file, "{ \"Proxy\": { \"MaxWorkerSeries\": 10, \"maxworkerseries\": 20 } }");
        Assert.Equal($"{file}: Proxy:maxworkerseries is given twice (keys are not case-sensitive)", Assert.Single(Loader(CommandLine.Parse(["--config", file])).SyntaxErrors()));

        // Comments and trailing commas are JSON the configuration accepts.
        File.WriteAllText(file, "{ // a farm\n \"Proxy\": { \"MaxWorkerSeries\": 10, }, }");
        Assert.Empty(Loader(CommandLine.Parse(["--config", file])).SyntaxErrors());
    }

    [Fact]
    public void Paths_in_a_file_resolve_against_that_file_and_from_the_command_line_against_the_working_directory()
    {
        var farmDirectory = Directory.CreateDirectory(Path.Combine(_directory, "farm")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(_directory, "work")).FullName;
        Directory.CreateDirectory(Path.Combine(farmDirectory, "tariffs"));
        File.Copy(Path.Combine(RepositoryRoot(), "config", "tariffs", "flat.json"), Path.Combine(farmDirectory, "tariffs", "flat.json"));
        File.Copy(Path.Combine(RepositoryRoot(), "config", "rigs", "catalog.json"), Path.Combine(farmDirectory, "catalog.json"));
        var file = Path.Combine(farmDirectory, "farm.json");
        File.WriteAllText(file, """
            { "Economics": { "TariffFile": "tariffs/flat.json", "CatalogFile": "catalog.json" },
              "Curtailment": { "AuditLog": "data/decisions.jsonl", "Ledger": "/var/lib/farm/energy.db" } }
            """);

        var loader = Loader(CommandLine.Parse(["--config", file]), work);
        var farm = loader.LoadFarm(out var farmErrors);
        var curtailment = loader.LoadCurtailment(out var curtailmentErrors);
        Assert.Empty(farmErrors);
        Assert.Empty(curtailmentErrors);
        Assert.Equal(Path.Combine(farmDirectory, "tariffs", "flat.json"), farm.TariffFile);
        Assert.Equal(Path.Combine(farmDirectory, "catalog.json"), farm.CatalogFile);
        Assert.Equal(Path.Combine(farmDirectory, "data", "decisions.jsonl"), curtailment.AuditLog);
        Assert.Equal("/var/lib/farm/energy.db", curtailment.Ledger);

        // Not named by a file (the default, the environment, an argument): the working directory.
        var fromArgument = Loader(CommandLine.Parse(["--config", file, "--Curtailment:AuditLog=logs/a.jsonl"]), work).LoadCurtailment(out _);
        Assert.Equal(Path.Combine(work, "logs", "a.jsonl"), fromArgument.AuditLog);
        Assert.Equal(Path.Combine(work, "data", "energy.db"), Loader(CommandLine.Parse([]), work).LoadCurtailment(out _).Ledger);
    }

    [Fact]
    public void A_missing_or_broken_tariff_file_is_reported_under_its_key_with_the_path_looked_at()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """{ "Economics": { "TariffFile": "nope.json" } }""");
        Loader(CommandLine.Parse(["--config", file])).LoadFarm(out var errors);
        Assert.Equal($"Economics:TariffFile 'nope.json': no such file ({Path.Combine(_directory, "nope.json")}).", Assert.Single(errors));

        File.WriteAllText(Path.Combine(_directory, "bad-tariff.json"), """{ "kind": "flat", "usd_per_kwh": -1 }""");
        File.WriteAllText(file, """{ "Economics": { "TariffFile": "bad-tariff.json" } }""");
        Loader(CommandLine.Parse(["--config", file])).LoadFarm(out errors);
        Assert.StartsWith($"Economics:TariffFile '{Path.Combine(_directory, "bad-tariff.json")}': ", Assert.Single(errors), StringComparison.Ordinal);

        // A region instead of a zone: the zone database's folder, which the runtime reports as a file it may not read.
        File.WriteAllText(Path.Combine(_directory, "bad-tariff.json"), """{ "kind": "time_of_use", "time_zone": "America", "default_usd_per_kwh": 0.05 }""");
        Loader(CommandLine.Parse(["--config", file])).LoadFarm(out errors);
        Assert.Contains("time_zone 'America' is not a time zone", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_section_is_checked_in_one_run_each_message_starts_with_its_full_key_and_none_twice()
    {
        var file = Path.Combine(_directory, "farm.json");
        File.WriteAllText(file, """
            { "Proxy": { "Difficulty": { "Start": 0 }, "Miners": { "IdleTimeout": "00:00:00" } },
              "Economics": { "Difficulty": 0, "FeesBtcPerBlock": -1 },
              "Curtailment": { "MarginPercent": -1, "MinOnDwell": "-00:01:00" },
              "Admin": { "Endpoint": "nowhere" } }
            """);
        var ex = Assert.Throws<OptionsException>(() => ProxyHost.Build(CommandLine.Parse(["--config", file]), _directory));
        var errors = ex.Errors;
        Assert.Single(errors, e => e.StartsWith("Proxy:Difficulty:Start ", StringComparison.Ordinal));
        Assert.Contains("Proxy:Miners:IdleTimeout (00:00:00) must be positive.", errors);
        Assert.Contains("Economics:Difficulty (0) must be positive.", errors);
        Assert.Contains("Economics:FeesBtcPerBlock (-1) must not be negative.", errors);
        Assert.Contains(errors, e => e.StartsWith("Curtailment:MarginPercent must be", StringComparison.Ordinal));
        Assert.Contains("Curtailment:MinOnDwell (-00:01:00) cannot be negative.", errors);
        Assert.Contains(errors, e => e.StartsWith("Admin:Endpoint 'nowhere': ", StringComparison.Ordinal));
        foreach (var error in errors)
        {
            Assert.Matches(@"^(Proxy|Economics|Curtailment|Admin):[A-Z][A-Za-z0-9]*(:[A-Za-z0-9]+)*[ :]", error);
            Assert.DoesNotContain("ProxyOptions.", error, StringComparison.Ordinal);
            Assert.DoesNotContain("_", error.Split(' ')[0], StringComparison.Ordinal);
        }

        Assert.Equal(errors.Count, errors.Distinct(StringComparer.Ordinal).Count());
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
    public void Curtailment_read_limits_are_checked_and_the_cycle_horizon_reaches_the_policy()
    {
        var settings = Loader(CommandLine.Parse(["--Curtailment:CycleHorizon=06:00:00", "--Curtailment:OnShutdown=wake"])).LoadCurtailment(out var errors);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromHours(6), settings.ToPolicyOptions().CycleHorizon);
        Assert.Equal(Farm.ShutdownAction.Wake, settings.OnShutdown);

        Loader(CommandLine.Parse(["--Curtailment:ReadTimeout=00:00:00", "--Curtailment:MaxConcurrentReads=0", "--Curtailment:CycleHorizon=00:00:00"]))
            .LoadCurtailment(out errors);
        Assert.Contains(errors, e => e.StartsWith("Curtailment:ReadTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Curtailment:MaxConcurrentReads", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Curtailment:CycleHorizon", StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_an_error_not_a_crash()
    {
        var file = Path.Combine(_directory, "bad.json");
        File.WriteAllText(file, """{ "Proxy": { "Miners": { "MaxLineLength": "big" } } }""");
        Load(CommandLine.Parse(["--config", file]), out var errors);
        Assert.Equal("Proxy:Miners:MaxLineLength 'big': not a valid whole number.", Assert.Single(errors));
    }

    // What the binder accepts is part of what a configuration means: an empty value keeps the default, a whole number
    // is decimal only, and the coin markets are found whatever the case of their code (BindingShape says why the
    // reflection binder, which differs on all three, is not used).
    [Fact]
    public void An_empty_value_keeps_the_default_and_a_hex_whole_number_is_refused()
    {
        var file = Path.Combine(_directory, "empty.json");
        File.WriteAllText(file, """{ "Proxy": { "Miners": { "MaxLineLength": "", "HandshakeTimeout": "" }, "Difficulty": { "PowerOfTwo": "", "Start": "" } } }""");
        var options = Load(CommandLine.Parse(["--config", file]), out var errors);
        Assert.Empty(errors);
        Assert.Equal(new MinerOptions().MaxLineLength, options.Miners.MaxLineLength);
        Assert.Equal(new MinerOptions().HandshakeTimeout, options.Miners.HandshakeTimeout);
        Assert.Equal(new DifficultyOptions(), options.Difficulty);

        File.WriteAllText(file, """{ "Proxy": { "Miners": { "MaxLineLength": "0x4000" } } }""");
        Load(CommandLine.Parse(["--config", file]), out errors);
        Assert.Equal("Proxy:Miners:MaxLineLength '0x4000': not a valid whole number.", Assert.Single(errors));
    }

    [Fact]
    public void Economics_Coins_are_found_whatever_the_case_of_their_code()
    {
        var farm = Loader(CommandLine.Parse(["--Economics:Coins:BCH:PriceUsd=450"])).LoadFarm(out var errors);
        Assert.Empty(errors);
        Assert.Equal(450, farm.Coins["bch"].PriceUsd);
    }

    [Fact]
    public void Proxy_Limits_MaxPoolLineLength_is_bound_defaults_to_256_KiB_and_is_checked()
    {
        Assert.Equal(256 * 1024, Load(CommandLine.Parse([]), out var errors).Limits.MaxPoolLineLength);
        Assert.Empty(errors);

        var file = Path.Combine(_directory, "limits.json");
        File.WriteAllText(file, """{ "Proxy": { "Limits": { "MaxPoolLineLength": 1048576 } } }""");
        Assert.Equal(1024 * 1024, Load(CommandLine.Parse(["--config", file]), out errors).Limits.MaxPoolLineLength);
        Assert.Empty(errors);

        File.WriteAllText(file, """{ "Proxy": { "Limits": { "MaxPoolLineLength": 1000 } } }""");
        Load(CommandLine.Parse(["--config", file]), out errors);
        Assert.Equal("Proxy:Limits:MaxPoolLineLength must be between 16384 and 16777216.", Assert.Single(errors));
    }

    [Fact]
    public void A_takeover_quiesce_longer_than_the_submit_timeout_is_refused_naming_both_keys()
    {
        var file = Path.Combine(_directory, "takeover.json");
        File.WriteAllText(file, """{ "Proxy": { "Takeover": { "SocketPath": "/run/sp.sock", "QuiesceTimeout": "00:00:45" } } }""");
        Load(CommandLine.Parse(["--config", file]), out var errors);
        var error = Assert.Single(errors);
        Assert.StartsWith("Proxy:Takeover:QuiesceTimeout (00:00:45) must not be longer than Proxy:Failover:SubmitTimeout (00:00:30)", error, StringComparison.Ordinal);

        // Equal is allowed, and so is a longer submit timeout.
        File.WriteAllText(file, """{ "Proxy": { "Takeover": { "SocketPath": "/run/sp.sock", "QuiesceTimeout": "00:00:30" } } }""");
        Load(CommandLine.Parse(["--config", file]), out errors);
        Assert.Empty(errors);
        File.WriteAllText(file, """{ "Proxy": { "Takeover": { "SocketPath": "/run/sp.sock", "QuiesceTimeout": "00:00:45" }, "Failover": { "SubmitTimeout": "00:01:00" } } }""");
        Load(CommandLine.Parse(["--config", file]), out errors);
        Assert.Empty(errors);

        // Without a takeover socket there is no handover: a short submit timeout is no one's concern.
        File.WriteAllText(file, """{ "Proxy": { "Failover": { "SubmitTimeout": "00:00:01" } } }""");
        Load(CommandLine.Parse(["--config", file]), out errors);
        Assert.Empty(errors);
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
