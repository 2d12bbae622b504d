using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StratumProxy.Proxy.Tests.EndToEnd;

/// <summary>Keeps every log entry (event id, level, rendered message) for assertions.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly ConcurrentQueue<(EventId Event, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(EventId Event, LogLevel Level, string Message)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        _entries.Enqueue((eventId, logLevel, formatter(state, exception)));
    }

    public IReadOnlyList<string> Messages(int eventId) => [.. Entries.Where(e => e.Event.Id == eventId).Select(e => e.Message)];
}
