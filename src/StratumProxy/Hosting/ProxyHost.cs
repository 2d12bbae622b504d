using Prometheus;
using StratumProxy.Admin;
using StratumProxy.Cli;
using StratumProxy.Economics.Feeds;
using StratumProxy.Farm;
using StratumProxy.Feeds;
using StratumProxy.Proxy.Configuration;
using StratumProxy.Proxy.Control;
using StratumProxy.Proxy.Metrics;

namespace StratumProxy.Hosting;

/// <summary>Builds the process: configuration layers, logging, metrics, the proxy service and the admin endpoint.</summary>
public static class ProxyHost
{
    /// <summary>The name of the default configuration embedded in the executable.</summary>
    public const string EmbeddedConfigName = "StratumProxy.appsettings.json";

    private const string TariffFeedClient = "tariff-feed";

    /// <summary>What the host's shutdown timeout adds to the drain (the stop of everything else).</summary>
    public static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The configuration, lowest layer first: the embedded default; appsettings.json in the working directory
    /// (reloaded on change); <c>--config FILE</c> (reloaded on change); <c>STRATUMPROXY_</c> environment variables;
    /// <c>--Section:Key=value</c> arguments. The quick-start flags are applied on top when options are bound.
    /// </summary>
    public static void AddLayers(IConfigurationBuilder configuration, CommandLine commandLine, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(commandLine);
        configuration.Sources.Clear();

        // Flattened once: a stream source cannot be re-read, and the layers above it reload.
        using (var embedded = OpenEmbeddedConfig())
        {
            var defaults = new ConfigurationBuilder().AddJsonStream(embedded).Build();
            configuration.AddInMemoryCollection(defaults.AsEnumerable().Where(kv => kv.Value is not null));
        }

        // A file that is not valid JSON contributes nothing here; ConfigLoader.SyntaxErrors names it (file, line,
        // column) at start, and a reload while it is broken is refused.
        configuration.AddCheckedJsonFile(Path.GetFullPath(Path.Combine(workingDirectory, "appsettings.json")), optional: true);
        if (commandLine.ConfigFile is { } file)
        {
            var path = Path.GetFullPath(file, workingDirectory);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"--config: no such file: {path}", path);
            }

            configuration.AddCheckedJsonFile(path, optional: false);
        }

        configuration.AddEnvironmentVariables("STRATUMPROXY_");
        configuration.AddCommandLine([.. commandLine.ConfigOverrides]);
    }

    /// <summary>Opens the embedded default configuration.</summary>
    public static Stream OpenEmbeddedConfig() =>
        typeof(ProxyHost).Assembly.GetManifestResourceStream(EmbeddedConfigName)
        ?? throw new InvalidOperationException("The embedded default configuration is missing from the build.");

    /// <summary>Builds the application; throws <see cref="OptionsException"/> when the configuration is invalid.</summary>
    public static WebApplication Build(CommandLine commandLine, string? workingDirectory = null, TimeProvider? time = null, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var directory = workingDirectory ?? Directory.GetCurrentDirectory();

        // The web builder reads ./appsettings.json itself before our layers replace its sources, and throws on a
        // syntax error: check the files first so that the operator gets one line instead of a stack trace.
        string[] files = [Path.Combine(directory, "appsettings.json"), .. commandLine.ConfigFile is { } configFile ? [Path.GetFullPath(configFile, directory)] : Array.Empty<string>()];
        var broken = files.Select(ConfigSources.SyntaxError).OfType<string>().ToList();
        if (broken.Count > 0)
        {
            throw new ConfigSyntaxException(broken);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = directory, Args = [] });
        AddLayers(builder.Configuration, commandLine, directory);

        builder.Logging.ClearProviders();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        logging?.Invoke(builder.Logging);

        var loader = new ConfigLoader(builder.Configuration, commandLine, directory);
        var syntax = loader.SyntaxErrors();
        if (syntax.Count > 0)
        {
            throw new ConfigSyntaxException(syntax);
        }

        // Every section is checked before anything starts, so one run lists every problem. What was read is kept: a
        // change made before the reload watch starts is applied then (ProxyService.StartAsync).
        var loadedFrom = LastGoodConfig.Snapshot(builder.Configuration);
        var config = loader.LoadAll(out var configErrors);
        var admin = loader.LoadAdmin(out var adminErrors);
        var access = AdminAccess.Load(admin, loader.ResolvePath, out var accessErrors);
        var storeOptions = loader.LoadStore(out var storeErrors);
        List<string> errors = [.. configErrors, .. adminErrors, .. accessErrors, .. storeErrors];
        var (options, farmOptions, curtailmentSettings, catalog, _) = config;
        var unknownKeys = loader.UnknownKeys();
        if (commandLine.Strict)
        {
            errors.AddRange(unknownKeys);
        }

        if (errors.Count > 0)
        {
            // A message that quotes a value never carries a secret (a connection string, a password) out.
            var secrets = Secrets.Values(builder.Configuration);
            access.Dispose();
            throw new OptionsException([.. errors.Select(e => Secrets.Scrub(e, secrets))]) { Warnings = commandLine.Strict ? [] : [.. unknownKeys.Select(w => Secrets.Scrub(w, secrets))] };
        }

        var warnings = new ConfigWarnings([.. commandLine.Strict ? [] : unknownKeys, .. ProxyOptionsValidator.Warnings(options)]);
        _ = EndpointParser.TryParse(admin.Endpoint, out var adminEndpoint, out _);
        builder.WebHost.ConfigureKestrel(k => k.Listen(adminEndpoint, listen =>
        {
            if (access.Certificate is { } certificate)
            {
                listen.UseHttps(certificate);
            }
        }));
        builder.Services.AddSingleton(access);

        // One registry per host: the admin endpoint exports exactly this process's proxy (and tests can run several).
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        ProcessStats.Register(registry);
        var clock = time ?? TimeProvider.System;
        builder.Services.AddSingleton(clock);

        // The stop drains miners for Proxy:Drain:Period + Grace (read at stop); the host must wait that long, plus
        // the few seconds the rest of the stop takes. A larger drain set by a reload is cut at this timeout.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.Drain.Total + ShutdownMargin);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<IMetricFactory>(factory);
        builder.Services.AddSingleton(loader);
        builder.Services.AddSingleton(new LastGoodConfig(config, loadedFrom));
        builder.Services.AddSingleton(warnings);
        builder.Services.AddSingleton(new ProxyMetrics(factory, options.MaxWorkerSeries));
        if (farmOptions.PriceFeed.Url is { } priceUrl)
        {
            builder.Services.AddHttpJsonFeed(FarmService.PriceFeedName, o =>
            {
                o.Url = priceUrl;
                o.JsonPath = farmOptions.PriceFeed.JsonPath;
                o.Interval = farmOptions.PriceFeed.Interval;
                o.Timeout = farmOptions.PriceFeed.Timeout;
                o.StalenessLimit = farmOptions.PriceFeed.StalenessLimit;
                o.Minimum = 1;
            });
        }

        builder.Services.AddSingleton(sp =>
        {
            var proxy = new ProxyLifetime(
                options,
                clock,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("StratumProxy.Proxy"),
                sp.GetRequiredService<ProxyMetrics>());
            registry.AddBeforeCollectCallback(proxy.UpdateGauges);
            return proxy;
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<ProxyLifetime>().Control);
        builder.Services.AddHttpClient(TariffFeedClient).AddStandardResilienceHandler();
        builder.Services.AddSingleton<LiveFeeds>();
        builder.Services.AddSingleton(sp =>
        {
            var feeds = sp.GetRequiredService<LiveFeeds>();
            IFeedValueSource LiveFeed(HttpJsonFeedOptions o) => feeds.Add(new HttpJsonFeed(
                sp.GetRequiredService<IHttpClientFactory>(), TariffFeedClient, o, clock, sp.GetRequiredService<ILogger<HttpJsonFeed>>()));
            var energy = config.EnergyModel(LiveFeed);
            var farm = new FarmEconomics(
                farmOptions,
                sp.GetRequiredService<IProxyControl>(),
                clock,
                factory,
                energy,
                catalog,
                sp.GetKeyedService<HttpJsonFeed>(FarmService.PriceFeedName));
            sp.GetRequiredService<ProxyLifetime>().JobReceived = farm.OnJob;
            farm.LiveFeedFactory = LiveFeed;
            return farm;
        });
        builder.Services.AddHostedService<FarmService>();
        builder.Services.AddSingleton(sp => new StratumProxy.Rigs.RigCommander(clock, sp.GetRequiredService<ILogger<StratumProxy.Rigs.RigCommander>>()));
        builder.Services.AddSingleton<IRigActuator>(sp => new RigApiActuator(sp.GetRequiredService<StratumProxy.Rigs.RigCommander>(), clock)
        {
            Failures = factory.CreateCounter("stratumproxy_rig_api_failures_total", "Rig API reads and commands that failed, by reason (timeout, invalid_reply, connect_failed, unreachable, …).", ["reason"]),
        });
        builder.Services.AddSingleton(_ => new StratumProxy.Curtailment.AuditLog(Path.GetFullPath(curtailmentSettings.AuditLog, directory)));
        if (storeOptions.Provider == Store.StoreProvider.Postgres)
        {
            // Many instances, one farm: the shared store, the lease and the follower's side (docs/curtailment.md, "Many instances").
            builder.Services.AddSingleton(storeOptions);
            builder.Services.AddSingleton(_ => new Store.PostgresFarmStore(storeOptions));
            builder.Services.AddSingleton<Store.IFarmStore>(sp => sp.GetRequiredService<Store.PostgresFarmStore>());
            builder.Services.AddSingleton(sp => new Store.FarmCoordinator(
                sp.GetRequiredService<Store.PostgresFarmStore>(), storeOptions, factory, sp.GetRequiredService<ILoggerFactory>().CreateLogger("StratumProxy.Store")));
            builder.Services.AddHostedService(sp => new Store.FarmStoreService(
                sp.GetRequiredService<Store.FarmCoordinator>(), sp.GetRequiredService<IProxyControl>(), curtailmentSettings.Interval, clock, sp.GetRequiredService<ILogger<Store.FarmStoreService>>()));
        }
        else
        {
            builder.Services.AddSingleton<Store.IFarmStore>(_ => new StratumProxy.Curtailment.EnergyLedger(Path.GetFullPath(curtailmentSettings.Ledger, directory)));
        }

        builder.Services.AddSingleton(sp =>
        {
            var coordinator = sp.GetService<Store.FarmCoordinator>();
            var proxy = sp.GetRequiredService<IProxyControl>();
            return new CurtailmentLoop(
                curtailmentSettings,
                sp.GetRequiredService<FarmEconomics>(),
                coordinator is null ? proxy : new Store.FarmProxyControl(proxy, coordinator),
                clock,
                sp.GetRequiredService<IRigActuator>(),
                factory,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("StratumProxy.Curtailment"),
                sp.GetRequiredService<StratumProxy.Curtailment.AuditLog>(),
                sp.GetRequiredService<Store.IFarmStore>(),
                coordinator);
        });
        builder.Services.AddSingleton<ProxyStarted>();
        builder.Services.AddSingleton<CurtailmentService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CurtailmentService>());
        builder.Services.AddSingleton(sp => new TakeoverHost(
            new Proxy.Takeover.TakeoverEndpoint(
                sp.GetRequiredService<ProxyLifetime>(),
                options.Takeover,
                Proxy.Takeover.SocketMover.Instance,
                clock,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("StratumProxy.Proxy")),
            commandLine.Takeover,
            sp.GetRequiredService<IHostApplicationLifetime>()));
        builder.Services.AddSingleton(sp => new FarmHistory(sp.GetRequiredService<FarmEconomics>(), sp.GetRequiredService<CurtailmentLoop>()));
        builder.Services.AddHostedService<FarmHistorySampler>();
        builder.Services.AddSingleton<ProxyService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProxyService>());
        var readiness = builder.Services.AddProxyReadiness();
        if (storeOptions.Provider == Store.StoreProvider.Postgres)
        {
            readiness.AddCheck<Readiness.StoreReadyCheck>("store", tags: [Readiness.Tag]);
        }
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminJsonContext.Default));

        var app = builder.Build();

        // The farm view subscribes to the pools' jobs before the engine starts.
        _ = app.Services.GetRequiredService<FarmEconomics>();

        // A handover stops the curtailment loop before the new process is told to go on.
        app.Services.GetRequiredService<ProxyLifetime>().HandingOver = app.Services.GetRequiredService<CurtailmentService>().StopForHandoverAsync;
        _ = app.Services.GetRequiredService<CurtailmentLoop>();
        MetricSeeds.Seed(factory, app.Services.GetRequiredService<ProxyMetrics>(), options, [.. farmOptions.Rigs.Select(r => r.Worker)], curtailmentSettings.DryRun);
        var startedAt = clock.GetUtcNow();
        var adminLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("StratumProxy.Admin");
        access.Use(app, factory, adminLogger);
        AdminEndpoints.Map(app, app.Services.GetRequiredService<IProxyControl>(), app.Services.GetRequiredService<ProxyService>(), admin, registry, startedAt, app.Services.GetRequiredService<FarmEconomics>(), app.Services.GetRequiredService<CurtailmentLoop>(), app.Services.GetRequiredService<FarmHistory>());
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = adminLogger;
            foreach (var url in app.Urls)
            {
                HostLog.AdminListening(logger, url);
            }

            if (access.AllowWrite && !access.HasToken && !access.LoopbackOnly)
            {
                HostLog.AdminWritesNeedToken(logger, admin.Endpoint);
            }

            foreach (var warning in warnings.Items)
            {
                HostLog.ConfigWarning(logger, warning);
            }
        });
        return app;
    }
}

/// <summary>Configuration problems that do not stop the proxy (unknown keys without <c>--strict</c>).</summary>
public sealed record ConfigWarnings(IReadOnlyList<string> Items);

/// <summary>A configuration file is not valid JSON: one line per file, <c>FILE:LINE:COLUMN: problem</c>.</summary>
public sealed class ConfigSyntaxException(IReadOnlyList<string> errors) : Exception(string.Join(Environment.NewLine, errors))
{
    /// <summary>One line per broken file.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>The configuration is invalid; <see cref="Errors"/> says what and where.</summary>
public sealed class OptionsException(IReadOnlyList<string> errors) : Exception("Invalid configuration:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", errors))
{
    /// <summary>Every problem found.</summary>
    public IReadOnlyList<string> Errors { get; } = errors;

    /// <summary>Problems that alone would not stop the proxy (unknown keys), reported beside the errors.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
