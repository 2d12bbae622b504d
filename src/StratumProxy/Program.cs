using Microsoft.Extensions.DependencyInjection;
using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy;

/// <summary>The <c>stratum-proxy</c> executable: parses the verb, then runs it.</summary>
public static class Program
{
    /// <summary>Entry point. Exit codes: 0 ok, 1 configuration or start-up error, 2 usage error.</summary>
    public static async Task<int> Main(string[] args)
    {
        CommandLine commandLine;
        try
        {
            commandLine = CommandLine.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        switch (commandLine.Verb)
        {
            case "help":
                await Console.Out.WriteLineAsync(CommandLine.Usage).ConfigureAwait(false);
                return 0;
            case "version":
                await Console.Out.WriteLineAsync($"stratum-proxy {Admin.AdminEndpoints.Version}").ConfigureAwait(false);
                return 0;
            case "economics":
                return EconomicsCommand.Run(commandLine.VerbArguments, Console.Out, Console.Error);
            case "demo":
                return await Demo.DemoCommand.RunAsync(commandLine.VerbArguments, Console.Out, Console.Error).ConfigureAwait(false);
            case "backtest":
                return BacktestCommand.Run(commandLine.VerbArguments, Console.Out, Console.Error);
        }

        try
        {
            await using var app = ProxyHost.Build(commandLine);
            if (commandLine.Verb == "check-config")
            {
                foreach (var warning in app.Services.GetRequiredService<ConfigWarnings>().Items)
                {
                    await Console.Error.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
                }

                await Console.Out.WriteLineAsync("configuration is valid").ConfigureAwait(false);
                return 0;
            }

            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (ConfigSyntaxException ex)
        {
            foreach (var error in ex.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error}").ConfigureAwait(false);
            }

            return 1;
        }
        catch (OptionsException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            foreach (var warning in ex.Warnings)
            {
                await Console.Error.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
            }

            return 1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or FileNotFoundException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
