using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace StratumProxy.Curtailment;

/// <summary>
/// An append-only audit log of decisions as JSON lines. Each batch is written and flushed to disk (fsync) before
/// <see cref="AppendBatch{T}"/> returns, so a decision that was acted on is on disk. Files rotate by size:
/// <c>decisions.jsonl</c> becomes <c>decisions.1.jsonl</c>, and so on, keeping <see cref="MaxFiles"/>.
/// A process killed in the middle of a write can leave a torn last line: reading skips any line that is not a whole
/// JSON value, and the next append starts on a new line, so the torn line never glues onto a good one.
/// </summary>
public sealed class AuditLog : IDisposable
{
    private readonly string _path;
    private readonly Lock _lock = new();
    private FileStream? _stream;

    /// <summary>Opens (or creates) the log at <paramref name="path"/>.</summary>
    public AuditLog(string path, long maxBytes = 64L * 1024 * 1024, int maxFiles = 10)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFiles, 1);
        _path = System.IO.Path.GetFullPath(path);
        MaxBytes = maxBytes;
        MaxFiles = maxFiles;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
    }

    /// <summary>The size at which the current file rotates.</summary>
    public long MaxBytes { get; }

    /// <summary>How many files are kept, the current one included.</summary>
    public int MaxFiles { get; }

    /// <summary>The current file.</summary>
    public string Path => _path;

    /// <summary>Appends one line per entry and flushes them to disk together.</summary>
    public void AppendBatch<T>(IEnumerable<T> entries, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(typeInfo);
        lock (_lock)
        {
            var stream = Open();
            var wrote = false;
            foreach (var entry in entries)
            {
                using (var writer = new Utf8JsonWriter(stream))
                {
                    JsonSerializer.Serialize(writer, entry, typeInfo);
                }

                stream.WriteByte((byte)'\n');
                wrote = true;
            }

            if (!wrote)
            {
                return;
            }

            stream.Flush(flushToDisk: true);
            if (stream.Length >= MaxBytes)
            {
                Rotate();
            }
        }
    }

    /// <summary>Reads the current file's lines back (for the status API and tests).</summary>
    public IReadOnlyList<string> ReadCurrent(int maxLines = 1000)
    {
        lock (_lock)
        {
            _stream?.Flush();
            if (!File.Exists(_path))
            {
                return [];
            }

            using var reader = new StreamReader(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            var lines = new Queue<string>();
            while (reader.ReadLine() is { } line)
            {
                if (!IsWholeJson(line))
                {
                    continue;
                }

                lines.Enqueue(line);
                if (lines.Count > maxLines)
                {
                    lines.Dequeue();
                }
            }

            return [.. lines];
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    private FileStream Open()
    {
        if (_stream is not null)
        {
            return _stream;
        }

        var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.None);
        if (stream.Length > 0 && LastByte() != (byte)'\n')
        {
            // The previous process died mid-line: end the torn line so the next entry starts clean.
            stream.WriteByte((byte)'\n');
        }

        return _stream = stream;
    }

    private byte LastByte()
    {
        using var read = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        read.Seek(-1, SeekOrigin.End);
        return (byte)read.ReadByte();
    }

    /// <summary>True when the line is one complete JSON value (a torn line is not).</summary>
    public static bool IsWholeJson(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return false;
        }

        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(line));
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void Rotate()
    {
        _stream?.Dispose();
        _stream = null;
        for (var i = MaxFiles - 1; i >= 1; i--)
        {
            var from = i == 1 ? _path : Numbered(i - 1);
            var to = Numbered(i);
            if (File.Exists(from))
            {
                File.Move(from, to, overwrite: true);
            }
        }

        if (MaxFiles == 1)
        {
            File.Delete(_path);
        }
    }

    private string Numbered(int index) => System.IO.Path.Combine(
        System.IO.Path.GetDirectoryName(_path)!,
        string.Create(CultureInfo.InvariantCulture, $"{System.IO.Path.GetFileNameWithoutExtension(_path)}.{index}{System.IO.Path.GetExtension(_path)}"));
}
