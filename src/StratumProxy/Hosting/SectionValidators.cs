using Microsoft.Extensions.Options;
using StratumProxy.Economics.Policy;
using StratumProxy.Farm;
using StratumProxy.Proxy.Configuration;
using static StratumProxy.Hosting.SectionRules;

namespace StratumProxy.Hosting;

/// <summary>
/// The rules of the <c>Economics</c> section, each message starting with the full key it is about. Files (the tariff,
/// the catalog) are checked where their paths are resolved, in <see cref="ConfigLoader"/>.
/// </summary>
public sealed class FarmOptionsValidator : IValidateOptions<FarmOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, FarmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        IntervalPositive(FarmOptions.SectionName, options.Interval, problems);

        if (options.PriceUsd <= 0 || !double.IsFinite(options.PriceUsd))
        {
            problems.Add($"Economics:PriceUsd ({options.PriceUsd}) must be a positive number.");
        }

        if (!(options.Difficulty > 0))
        {
            problems.Add($"Economics:Difficulty ({options.Difficulty}) must be positive.");
        }

        if (options.FeesBtcPerBlock < 0)
        {
            problems.Add($"Economics:FeesBtcPerBlock ({options.FeesBtcPerBlock}) must not be negative.");
        }

        if (options.ElectricityUsdPerKwh < 0)
        {
            problems.Add($"Economics:ElectricityUsdPerKwh ({options.ElectricityUsdPerKwh}) must not be negative.");
        }

        foreach (var (pool, terms) in options.Pools)
        {
            if (terms.FeePercent is < 0 or >= 100)
            {
                problems.Add($"Economics:Pools:{pool}:FeePercent ({terms.FeePercent}) must be from 0 to below 100.");
            }

            if (!FarmEconomics.IsKnownCoin(terms.Coin))
            {
                problems.Add($"Economics:Pools:{pool}:Coin '{terms.Coin}': known SHA-256 coins are {string.Join(", ", FarmEconomics.KnownCoins)}.");
            }
            else if (!string.Equals(terms.Coin, "BTC", StringComparison.OrdinalIgnoreCase)
                && (!options.Coins.TryGetValue(terms.Coin, out var coin) || coin.PriceUsd <= 0 || coin.Difficulty <= 0))
            {
                problems.Add($"Economics:Pools:{pool}:Coin '{terms.Coin}' needs Economics:Coins:{terms.Coin} with a positive PriceUsd and Difficulty.");
            }
        }

        for (var i = 0; i < options.Rigs.Count; i++)
        {
            Rig(options.Rigs[i], $"Economics:Rigs:{i}", problems);
        }

        return OptionsGuard.Result(problems);
    }

    private static void Rig(RigOptions rig, string key, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(rig.Worker))
        {
            problems.Add($"{key}:Worker: a rig needs the worker name it authorizes with.");
        }

        if (rig.Api is { } api && !RigApiActuator.Families.Contains(api.ToLowerInvariant()))
        {
            problems.Add($"{key}:Api '{api}' is not one of {string.Join(", ", RigApiActuator.Families)}.");
        }

        if (rig.Api is not null && string.IsNullOrWhiteSpace(rig.Address))
        {
            problems.Add($"{key}:Address: a rig with an Api needs its HOST[:PORT].");
        }

        if (rig.Pin is { } pin && pin.ToLowerInvariant() is not ("on" or "off"))
        {
            problems.Add($"{key}:Pin '{pin}' must be on or off.");
        }

        for (var m = 0; m < rig.Modes.Count; m++)
        {
            var mode = rig.Modes[m];
            if (mode.Terahashes <= 0 || mode.Watts <= 0 || mode.PowerTargetW is <= 0)
            {
                problems.Add($"{key}:Modes:{m} ({mode.Name}): Terahashes, Watts and PowerTargetW must be positive.");
            }
        }

        if (rig.PowerW is <= 0)
        {
            problems.Add($"{key}:PowerW must be positive.");
        }
    }
}

/// <summary>The rules of the <c>Curtailment</c> section, the policy's own rules named by the keys an operator writes.</summary>
public sealed class CurtailmentSettingsValidator : IValidateOptions<CurtailmentSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, CurtailmentSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        IntervalPositive(CurtailmentSettings.SectionName, options.Interval, problems);

        if ((options.StrikeSleepAboveUsdPerMwh is null) != (options.StrikeWakeBelowUsdPerMwh is null))
        {
            problems.Add(options.StrikeSleepAboveUsdPerMwh is null
                ? "Curtailment:StrikeSleepAboveUsdPerMwh: strike-price mode needs it beside StrikeWakeBelowUsdPerMwh."
                : "Curtailment:StrikeWakeBelowUsdPerMwh: strike-price mode needs it beside StrikeSleepAboveUsdPerMwh.");
        }

        if (options.MinOnDwell < TimeSpan.Zero)
        {
            problems.Add($"Curtailment:MinOnDwell ({options.MinOnDwell}) cannot be negative.");
        }

        if (options.MinOffDwell < TimeSpan.Zero)
        {
            problems.Add($"Curtailment:MinOffDwell ({options.MinOffDwell}) cannot be negative.");
        }

        if (options.ReadTimeout <= TimeSpan.Zero)
        {
            problems.Add($"Curtailment:ReadTimeout ({options.ReadTimeout}) must be positive.");
        }

        if (options.MaxConcurrentReads < 1)
        {
            problems.Add($"Curtailment:MaxConcurrentReads ({options.MaxConcurrentReads}) must be at least 1.");
        }

        // The policy names its fields in snake_case; here they are the Curtailment keys an operator writes.
        problems.AddRange((new CurtailmentOptionsValidator().Validate(null, options.ToPolicyOptions()).Failures ?? [])
            .Where(e => !e.StartsWith("dwell", StringComparison.Ordinal))
            .Select(e => $"{CurtailmentSettings.SectionName}:{PolicyFieldKey(e)}"));
        return OptionsGuard.Result(problems);
    }

    private static string PolicyFieldKey(string message)
    {
        var end = message.IndexOf(' ', StringComparison.Ordinal);
        var field = end < 0 ? message : message[..end];
        var pascal = string.Concat(field.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
        return pascal + (end < 0 ? string.Empty : message[end..]);
    }
}

/// <summary>The rule of the <c>Admin</c> section: an endpoint the admin HTTP server can listen on.</summary>
public sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return EndpointParser.TryParse(options.Endpoint, out _, out var reason)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Admin:Endpoint '{options.Endpoint}': {reason}");
    }
}

/// <summary>Rules more than one section has.</summary>
internal static class SectionRules
{
    /// <summary>A section's <c>Interval</c> (how often it runs) must be positive.</summary>
    public static void IntervalPositive(string section, TimeSpan interval, List<string> problems)
    {
        if (interval <= TimeSpan.Zero)
        {
            problems.Add($"{section}:Interval must be positive.");
        }
    }
}
