using Microsoft.Extensions.Configuration;
using StratumProxy.Cli;
using StratumProxy.Proxy.Configuration;

namespace StratumProxy.Hosting;

/// <summary>
/// Turns the layered configuration into validated options: binds the sections (source-generated binder), applies
/// the quick-start flags, and runs every validation rule. Used at start and on every reload, so a bad reload is
/// refused with the same clear messages and the running config stays.
/// </summary>
public sealed class ConfigLoader(IConfiguration configuration, CommandLine commandLine)
{
    private readonly ProxyOptionsValidator _validator = new();

    /// <summary>Binds and validates; <paramref name="errors"/> lists every problem (empty on success).</summary>
    public ProxyOptions Load(out IReadOnlyList<string> errors)
    {
        var options = new ProxyOptions();
        var problems = new List<string>();
        try
        {
            configuration.GetSection(ProxyOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // A value of the wrong type (e.g. "Priority": "high") fails binding: report it like any other rule.
            problems.Add($"Proxy: {ex.Message}");
        }

        ApplyQuickStart(options, commandLine);
        if (problems.Count == 0)
        {
            var result = _validator.Validate(null, options);
            if (result.Failed)
            {
                problems.AddRange(result.Failures ?? []);
            }
        }

        errors = problems;
        return options;
    }

    /// <summary>The farm economics options, with every problem listed (empty on success).</summary>
    public Farm.FarmOptions LoadFarm(out IReadOnlyList<string> errors)
    {
        var farm = new Farm.FarmOptions();
        var problems = new List<string>();
        try
        {
            configuration.GetSection(Farm.FarmOptions.SectionName).Bind(farm);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add($"Economics: {ex.Message}");
        }

        if (farm.Interval <= TimeSpan.Zero)
        {
            problems.Add("Economics:Interval must be positive.");
        }

        if (farm.PriceUsd <= 0 || !double.IsFinite(farm.PriceUsd))
        {
            problems.Add($"Economics:PriceUsd ({farm.PriceUsd}) must be a positive number.");
        }

        if (farm.Difficulty <= 0 || farm.FeesBtcPerBlock < 0 || farm.ElectricityUsdPerKwh < 0)
        {
            problems.Add("Economics: Difficulty must be positive; FeesBtcPerBlock and ElectricityUsdPerKwh must not be negative.");
        }

        foreach (var (pool, terms) in farm.Pools)
        {
            if (terms.FeePercent is < 0 or >= 100)
            {
                problems.Add($"Economics:Pools:{pool}:FeePercent ({terms.FeePercent}) must be from 0 to below 100.");
            }

            if (!Farm.FarmEconomics.IsKnownCoin(terms.Coin))
            {
                problems.Add($"Economics:Pools:{pool}:Coin '{terms.Coin}': known SHA-256 coins are {string.Join(", ", Farm.FarmEconomics.KnownCoins)}.");
            }
            else if (!string.Equals(terms.Coin, "BTC", StringComparison.OrdinalIgnoreCase)
                && (!farm.Coins.TryGetValue(terms.Coin, out var coin) || coin.PriceUsd <= 0 || coin.Difficulty <= 0))
            {
                problems.Add($"Economics:Pools:{pool}:Coin '{terms.Coin}' needs Economics:Coins:{terms.Coin} with a positive PriceUsd and Difficulty.");
            }
        }

        for (var i = 0; i < farm.Rigs.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(farm.Rigs[i].Worker))
            {
                problems.Add($"Economics:Rigs:{i}:Worker: a rig needs the worker name it authorizes with.");
            }

            if (farm.Rigs[i].Api is { } api && !Farm.RigApiActuator.Families.Contains(api.ToLowerInvariant()))
            {
                problems.Add($"Economics:Rigs:{i}:Api '{api}' is not one of {string.Join(", ", Farm.RigApiActuator.Families)}.");
            }

            if (farm.Rigs[i].Api is not null && string.IsNullOrWhiteSpace(farm.Rigs[i].Address))
            {
                problems.Add($"Economics:Rigs:{i}:Address: a rig with an Api needs its HOST[:PORT].");
            }

            if (farm.Rigs[i].Pin is { } pin && pin.ToLowerInvariant() is not ("on" or "off"))
            {
                problems.Add($"Economics:Rigs:{i}:Pin '{pin}' must be on or off.");
            }

            for (var m = 0; m < farm.Rigs[i].Modes.Count; m++)
            {
                var mode = farm.Rigs[i].Modes[m];
                if (mode.Terahashes <= 0 || mode.Watts <= 0 || mode.PowerTargetW is <= 0)
                {
                    problems.Add($"Economics:Rigs:{i}:Modes:{m} ({mode.Name}): Terahashes, Watts and PowerTargetW must be positive.");
                }
            }

            if (farm.Rigs[i].PowerW is <= 0)
            {
                problems.Add($"Economics:Rigs:{i}:PowerW must be positive.");
            }
        }

        errors = problems;
        return farm;
    }

    /// <summary>The curtailment settings, with every problem listed (empty on success).</summary>
    public Farm.CurtailmentSettings LoadCurtailment(out IReadOnlyList<string> errors)
    {
        var settings = new Farm.CurtailmentSettings();
        var problems = new List<string>();
        try
        {
            configuration.GetSection(Farm.CurtailmentSettings.SectionName).Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add($"Curtailment: {ex.Message}");
        }

        if (settings.Interval <= TimeSpan.Zero)
        {
            problems.Add("Curtailment:Interval must be positive.");
        }

        if ((settings.StrikeSleepAboveUsdPerMwh is null) != (settings.StrikeWakeBelowUsdPerMwh is null))
        {
            problems.Add("Curtailment: strike-price mode needs both StrikeSleepAboveUsdPerMwh and StrikeWakeBelowUsdPerMwh.");
        }

        problems.AddRange(settings.ToPolicyOptions().Validate().Select(e => $"Curtailment: {e}"));
        errors = problems;
        return settings;
    }

    /// <summary>The admin options (bound once at start).</summary>
    public AdminOptions LoadAdmin()
    {
        var admin = new AdminOptions();
        configuration.GetSection(AdminOptions.SectionName).Bind(admin);
        if (commandLine.Admin is not null)
        {
            admin.Endpoint = commandLine.Admin;
        }

        return admin;
    }

    /// <summary>The quick-start flags replace the configured listeners and pools, and set the difficulty bounds.</summary>
    public static void ApplyQuickStart(ProxyOptions options, CommandLine commandLine)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(commandLine);
        if (commandLine.Listen.Count > 0)
        {
            options.Listeners = [.. commandLine.Listen.Select((endpoint, i) => new ListenerOptions
            {
                Name = i == 0 ? "default" : $"listen{i}",
                Endpoint = endpoint,
                PoolGroup = "default",
            })];
        }

        if (commandLine.Pools.Count > 0)
        {
            options.Pools = [.. commandLine.Pools.Select((url, i) => new PoolOptions
            {
                Name = i == 0 ? "primary" : $"pool{i + 1}",
                Url = url,
                User = commandLine.User ?? string.Empty,
                Password = commandLine.Password ?? "x",
                Priority = i,
                Group = "default",
                Mode = commandLine.Mode ?? PoolMode.Aggregating,
            })];
            foreach (var listener in options.Listeners)
            {
                listener.PoolGroup = "default";
            }

            options.Pins.Clear();
        }

        var d = options.Difficulty;
        if (commandLine.MinDifficulty is { } min)
        {
            d.Min = min;
            d.Start = Math.Max(d.Start, min);
        }

        if (commandLine.MaxDifficulty is { } max)
        {
            d.Max = max;
            d.Start = Math.Min(d.Start, max);
        }

        if (commandLine.StartDifficulty is { } start)
        {
            d.Start = start;
            if (commandLine.MinDifficulty is null)
            {
                d.Min = Math.Min(d.Min, start);
            }
        }
    }
}
