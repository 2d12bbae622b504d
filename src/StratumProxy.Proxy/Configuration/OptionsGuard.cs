using Microsoft.Extensions.Options;

namespace StratumProxy.Proxy.Configuration;

/// <summary>
/// The one validation style for settings (<see cref="IValidateOptions{TOptions}"/>), from the configuration sections
/// down to a component's own settings: a list of problems as a result, and a constructor's guard.
/// </summary>
public static class OptionsGuard
{
    /// <summary>Success when there is no problem, else a failure listing each.</summary>
    public static ValidateOptionsResult Result(IReadOnlyCollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Success when <paramref name="problem"/> is null, else a failure with it.</summary>
    public static ValidateOptionsResult Result(string? problem) =>
        problem is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problem);

    /// <summary>A validator of one rule that names the first problem it finds (null when there is none).</summary>
    public static IValidateOptions<T> Rule<T>(Func<T, string?> firstProblem)
        where T : class => new RuleValidator<T>(firstProblem);

    /// <summary>Throws <see cref="ArgumentException"/> with the validator's message when the settings are not usable.</summary>
    public static void ThrowIfInvalid<T>(IValidateOptions<T> validator, T options)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            throw new ArgumentException(result.FailureMessage, nameof(options));
        }
    }

    private sealed class RuleValidator<T>(Func<T, string?> firstProblem) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            ArgumentNullException.ThrowIfNull(options);
            return Result(firstProblem(options));
        }
    }
}
