using Microsoft.Extensions.Options;
using StratumProxy.Economics.Feeds;

namespace StratumProxy.Feeds;

/// <summary>Validates feed options at start and on reload.</summary>
public sealed class HttpJsonFeedOptionsValidator : IValidateOptions<HttpJsonFeedOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpJsonFeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => $"feed '{name}': {e}"));
    }
}
