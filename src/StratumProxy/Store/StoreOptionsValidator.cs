using Microsoft.Extensions.Options;
using Npgsql;

namespace StratumProxy.Store;

/// <summary>
/// The rules of the <c>Store</c> section. A message about the connection string names the key and the problem, never
/// the value (it holds a password).
/// </summary>
public sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.Provider == StoreProvider.Postgres)
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                problems.Add("Store:ConnectionString: Store:Provider Postgres needs a connection string (Host=…;Database=…;Username=…; set it through STRATUMPROXY_Store__ConnectionString).");
            }
            else
            {
                try
                {
                    var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                    if (string.IsNullOrWhiteSpace(builder.Host))
                    {
                        problems.Add("Store:ConnectionString: names no Host.");
                    }
                }
                catch (ArgumentException)
                {
                    // The exception's message may quote the string: only the key is named.
                    problems.Add("Store:ConnectionString: not a valid Npgsql connection string (its value is not shown: it may hold a password).");
                }
            }

            if (options.LeaderLease < TimeSpan.FromSeconds(1))
            {
                problems.Add($"Store:LeaderLease ({options.LeaderLease}) must be at least one second.");
            }

            if (options.PollInterval <= TimeSpan.Zero || options.PollInterval * 2 > options.LeaderLease)
            {
                // The leader renews its lease every poll: at least two chances before it runs out.
                problems.Add($"Store:PollInterval ({options.PollInterval}) must be positive and at most half of Store:LeaderLease ({options.LeaderLease}).");
            }

            if (options.CommandTimeout < TimeSpan.FromSeconds(1))
            {
                problems.Add($"Store:CommandTimeout ({options.CommandTimeout}) must be at least one second.");
            }

            if (options.Retention < TimeSpan.FromDays(1))
            {
                problems.Add($"Store:Retention ({options.Retention}) must be at least one day (1.00:00:00): the leader deletes evaluations, rig commands and audit lines older than it.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
