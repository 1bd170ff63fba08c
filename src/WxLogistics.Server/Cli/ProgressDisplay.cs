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

            // The rate is measured from the first report of work done, not from the start: work that shows no progress
            // first (a restore's check of the backup) would make it look slow, and the time left far too long.
            (TimeSpan At, long Done)? firstWork = null;
            return await run(new Progress(report =>
            {
                lock (gate)
                {
                    var now = started.Elapsed;
                    if (firstWork is null && report.Done > 0)
                    {
                        firstWork = (now, report.Done);
                    }

                    var end = report.Done >= report.Total;
                    if (finished || (now - lastLine < LineInterval && !end))
                    {
                        return;
                    }

                    (lastLine, finished) = (now, end);
                    var share = report.Total <= 0 ? 1 : (double)report.Done / report.Total;
                    var line = string.Create(CultureInfo.InvariantCulture, $"{name}: {share:P0}, {report.Detail}");
                    if (TimeLeft(report, now, firstWork) is { } left)
                    {
                        line += string.Create(CultureInfo.InvariantCulture, $", {(long)left.TotalHours:00}:{left:mm\\:ss} left");
                    }

                    error.WriteLine(line);
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

    /// <summary>The time left at the rate since the first work was reported; null until there is a rate to tell.</summary>
    static TimeSpan? TimeLeft(Report report, TimeSpan now, (TimeSpan At, long Done)? firstWork)
    {
        if (report.Done >= report.Total)
        {
            return TimeSpan.Zero;
        }

        if (firstWork is not { } first || report.Done <= first.Done || now <= first.At)
        {
            return null;
        }

        var perSecond = (report.Done - first.Done) / (now - first.At).TotalSeconds;
        // Hours past a day are shown as hours (100:00:00); a rate near nothing stops at a year.
        return TimeSpan.FromSeconds(Math.Min(Math.Ceiling((report.Total - report.Done) / perSecond), TimeSpan.FromDays(365).TotalSeconds));
    }

    sealed class Progress(Action<Report> report) : IProgress<Report>
    {
        public void Report(Report value) => report(value);
    }
}
