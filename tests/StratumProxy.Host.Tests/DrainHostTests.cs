using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StratumProxy.Cli;
using StratumProxy.Hosting;

namespace StratumProxy.Host.Tests;

/// <summary>The host waits for the whole drain on stop: its shutdown timeout is set from Proxy:Drain.</summary>
public sealed class DrainHostTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stratumproxy-drainhost-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(null, null, 30 + 10)]
    [InlineData("00:02:00", "00:00:20", 120 + 20)]
    [InlineData("00:00:00", "00:00:00", 0)]
    public async Task ShutdownTimeout_CoversDrainPeriodAndGrace_PlusTheStopMargin(string? period, string? grace, int drainSeconds)
    {
        List<string> arguments = ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"];
        if (period is not null)
        {
            arguments.Add($"--Proxy:Drain:Period={period}");
            arguments.Add($"--Proxy:Drain:Grace={grace}");
        }

        await using var app = ProxyHost.Build(CommandLine.Parse([.. arguments]), _directory, logging: l => l.ClearProviders());
        var host = app.Services.GetRequiredService<IOptions<HostOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(drainSeconds) + ProxyHost.ShutdownMargin, host.ShutdownTimeout);
    }
}
