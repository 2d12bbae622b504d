using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy;

/// <summary>The <c>stratum-proxy</c> executable: the command line (<see cref="StratumProxyCli"/>) parses the verb and runs it.</summary>
public static class Program
{
    /// <summary>Entry point. Exit codes: 0 ok, 1 configuration or start-up error, 2 usage error.</summary>
    public static Task<int> Main(string[] args) => StratumProxyCli.InvokeAsync(args, CliEnvironment.FromConsole());

    /// <summary>The run and check-config verbs: builds the host from the configuration, then runs it or reports it valid.</summary>
    internal static async Task<int> RunHostAsync(CommandLine commandLine, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            await using var app = ProxyHost.Build(commandLine);
            if (commandLine.Verb == "check-config")
            {
                foreach (var warning in app.Services.GetRequiredService<ConfigWarnings>().Items)
                {
                    await stderr.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
                }

                await stdout.WriteLineAsync("configuration is valid").ConfigureAwait(false);
                return 0;
            }

            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (ConfigSyntaxException ex)
        {
            foreach (var error in ex.Errors)
            {
                await stderr.WriteLineAsync($"error: {error}").ConfigureAwait(false);
            }

            return 1;
        }
        catch (OptionsException ex)
        {
            await stderr.WriteLineAsync(ex.Message).ConfigureAwait(false);
            foreach (var warning in ex.Warnings)
            {
                await stderr.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
            }

            return 1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or FileNotFoundException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
