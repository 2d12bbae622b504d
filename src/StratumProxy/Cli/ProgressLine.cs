using System.Globalization;
using StratumProxy.Economics.Backtest;

namespace StratumProxy.Cli;

/// <summary>
/// The backtest's progress on stderr, never on stdout (so <c>--json</c> stays one JSON document). On a terminal one
/// line is rewritten in place at every whole percent and erased at the end; elsewhere (asked for with
/// <c>--progress</c>, e.g. into a log file) a plain line is written at the start and each time another tenth is done.
/// </summary>
internal sealed class ProgressLine(TextWriter stderr, bool terminal, int rigs) : IProgress<BacktestProgress>
{
    private static readonly string[] Names = ["policy", "always_on", "strike_price"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private int _lastPercent = -1;
    private int _width;

    public void Report(BacktestProgress value)
    {
        var percent = (int)Math.Floor(value.Overall * 100);
        if (terminal ? percent <= _lastPercent : _lastPercent >= 0 && percent / 10 <= _lastPercent / 10)
        {
            return;
        }

        _lastPercent = percent;
        var scenario = Names[Math.Clamp(value.Scenario, 0, Names.Length - 1)];
        var text = string.Create(Inv, $"backtest: {percent,3}%  {rigs} rigs  {scenario} at {value.At:yyyy-MM-ddTHH:mmZ}");
        if (terminal)
        {
            stderr.Write('\r' + text.PadRight(_width));
            _width = text.Length;
        }
        else
        {
            stderr.WriteLine(text);
        }

        stderr.Flush();
    }

    /// <summary>Erases the line on a terminal so that the result starts on a clean line.</summary>
    public void Done()
    {
        if (terminal && _width > 0)
        {
            stderr.Write('\r' + new string(' ', _width) + '\r');
            stderr.Flush();
            _width = 0;
        }
    }
}
