using System.Globalization;
using Spectre.Console;

namespace WxLogistics.Cli;

/// <summary>
/// The progress of a long verb (import, export, backup) on stderr: a bar with the time left when stderr is a terminal;
/// otherwise, as in a log or a pipe, a plain line every two seconds and one at the end.
/// </summary>
static class ProgressDisplay
{
    /// <summary><paramref name="Done"/> of <paramref name="Total"/> units of work, and what to say about it (counts, rates).</summary>
    public readonly record struct Report(long Done, long Total, string Detail);

    static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(2);

    /// <param name="error">The verb's stderr.</param>
    /// <param name="name">What is under way, first on each line (a file name, "export").</param>
    /// <param name="run">The work, given where to report.</param>
    public static async Task<T> RunAsync<T>(TextWriter error, string name, Func<IProgress<Report>, Task<T>> run)
    {
        if (!ReferenceEquals(error, Console.Error) || Console.IsErrorRedirected)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            TimeSpan? lastLine = null;
            var finished = false;
            var gate = new Lock();
            return await run(new Progress(report =>
            {
                lock (gate)
                {
                    var end = report.Done >= report.Total;
                    if (finished || (started.Elapsed - lastLine < LineInterval && !end))
                    {
                        return;
                    }

                    (lastLine, finished) = (started.Elapsed, end);
                    var share = report.Total <= 0 ? 1 : (double)report.Done / report.Total;
                    var perSecond = report.Done / Math.Max(started.Elapsed.TotalSeconds, 0.001);
                    var left = perSecond > 0 ? TimeSpan.FromSeconds(Math.Ceiling((report.Total - report.Done) / perSecond)) : TimeSpan.Zero;
                    error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {share:P0}, {report.Detail}, {left:hh\\:mm\\:ss} left"));
                }
            }));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(name), maxValue: 1);
                var result = await run(new Progress(report =>
                {
                    task.Description = Markup.Escape($"{name}: {report.Detail}");
                    task.MaxValue = Math.Max(report.Total, 1);
                    task.Value = report.Done;
                }));
                task.StopTask();
                return result;
            });
    }

    sealed class Progress(Action<Report> report) : IProgress<Report>
    {
        public void Report(Report value) => report(value);
    }
}
