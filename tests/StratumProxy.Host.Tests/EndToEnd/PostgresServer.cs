using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace StratumProxy.Host.Tests.EndToEnd;

/// <summary>
/// A throwaway PostgreSQL server for one test: <c>initdb</c> into a temporary folder, <c>pg_ctl</c> on a free loopback
/// port, trust authentication on 127.0.0.1 only. PostgreSQL refuses to run as root, so when the tests run as root (CI)
/// the folder is given to the <c>postgres</c> user (created by Debian's package) and the binaries run as that user
/// through <c>runuser</c>. The binaries are Debian's (<c>/usr/lib/postgresql/N/bin</c>, the newest N) or the PATH's;
/// when there are none the test fails and says how to install them. <see cref="StopAsync"/> and
/// <see cref="StartAsync"/> take the server down and bring it back on the same port (a store outage).
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _directory;
    private readonly string _data;
    private readonly bool _asPostgresUser;

    private PostgresServer(string bin, string directory, bool asPostgresUser, int port)
    {
        _bin = bin;
        _directory = directory;
        _data = Path.Combine(directory, "data");
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>
    /// A connection string to <paramref name="database"/> as the superuser. The connect timeout is 30 s, not Npgsql's
    /// 15 s or a tight 5 s: the server forks a backend per connection, and on a 2-core machine busy with several proxy
    /// processes starting at once that took more than 5 s (a stopped server still refuses a connection at once).
    /// </summary>
    public string ConnectionString(string database = "postgres") =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=false;Timeout=30");

    /// <summary>Creates the cluster and starts it.</summary>
    public static async Task<PostgresServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or on the PATH: install them " +
            "(Debian: apt-get install -y postgresql; .ci/run does) to run the many-instance tests.");
        var root = Environment.UserName == "root" || geteuid() == 0;
        var directory = Directory.CreateTempSubdirectory("stratumproxy-pg-").FullName;
        if (root)
        {
            await RunAsync("chown", ["postgres:postgres", directory], null, cancellationToken);
        }

        var server = new PostgresServer(bin, directory, root, FreePort());
        try
        {
            await server.PgAsync("initdb", ["-D", server._data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], cancellationToken);
            await server.StartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again) and waits until it accepts connections. It logs each connection, so that a failure's message shows what the server saw.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => PgAsync("pg_ctl", [
        "-D", _data, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
        "-o", string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c log_connections=on"), "start"], cancellationToken);

    /// <summary>Stops the server at once (open connections are cut), as a crash or a network cut looks to a client.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => PgAsync("pg_ctl", ["-D", _data, "-m", "immediate", "-w", "stop"], cancellationToken);

    /// <summary>Creates a database of its own for one test.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString());
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\";", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return ConnectionString(name);
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"could not create database {name} on the server at 127.0.0.1:{Port}: {e.Message}; its log:{Environment.NewLine}{ServerLog()}", e);
        }
    }

    /// <summary>The server's log so far (its last 40 lines), for a failure's message.</summary>
    private string ServerLog()
    {
        var log = Path.Combine(_directory, "server.log");
        return File.Exists(log) ? string.Join(Environment.NewLine, File.ReadLines(log).TakeLast(40)) : "(no log written)";
    }

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(_data, "postmaster.pid")))
        {
            try
            {
                await PgAsync("pg_ctl", ["-D", _data, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }

        Directory.Delete(_directory, recursive: true);
    }

    private Task PgAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments], _directory, cancellationToken)
            : RunAsync(Path.Combine(_bin, tool), arguments, _directory, cancellationToken);

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, string? workingDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:{Environment.NewLine}{await output}{await error}");
        }
    }

    private static string? FindBinaries()
    {
        const string Debian = "/usr/lib/postgresql";
        if (Directory.Exists(Debian))
        {
            var newest = Directory.GetDirectories(Debian)
                .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(d => d.Version > 0 && File.Exists(Path.Combine(d.Dir, "bin", "pg_ctl")))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Dir, "bin"))
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "pg_ctl")) && File.Exists(Path.Combine(d, "initdb")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();
}
