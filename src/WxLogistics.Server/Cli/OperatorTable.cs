using System.CommandLine;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace WxLogistics.Cli;

/// <summary>
/// What the listing verbs print: a table for people (Spectre.Console, plain text without colour, CJK-width aware),
/// or with --json one JSON object for scripts.
/// </summary>
static class OperatorTable
{
    /// <summary>The --json switch of a listing verb.</summary>
    public static Option<bool> JsonOption(string shape) => new("--json") { Description = $"Print one JSON object {shape} instead of a table." };

    /// <summary>Renders rows under headers; an empty list prints the headers and "(none)".</summary>
    public static string Render(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = Console.IsOutputRedirected || Console.WindowWidth < 40 ? 200 : Console.WindowWidth;
        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header)));
        }

        var any = false;
        foreach (var row in rows)
        {
            any = true;
            table.AddRow(row.Select(cell => (IRenderable)new Text(Shown(cell))).ToArray());
        }

        console.Write(table);
        if (!any)
        {
            console.WriteLine("(none)");
        }

        // Without the border's blank first and last lines and the padding at the end of each line.
        var lines = writer.ToString().Split('\n').Select(line => line.TrimEnd()).ToList();
        var text = string.Join(Environment.NewLine, lines.SkipWhile(line => line.Length == 0).Reverse().SkipWhile(line => line.Length == 0).Reverse());
        return text + Environment.NewLine;
    }

    /// <summary>
    /// A cell as text that cannot act on the terminal: callers' own text reaches the tables (a call's waybill_id, a
    /// merchant server's answer in a push's last error), and an escape sequence in it would be run by the operator's
    /// terminal, a line break would break the row. Control characters are shown as \uXXXX.
    /// </summary>
    static string Shown(string? cell) =>
        cell is null ? "-"
        : !cell.Any(char.IsControl) ? cell
        : string.Concat(cell.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    /// <summary>Unix seconds or milliseconds as China time (the platform's display zone), to the second.</summary>
    public static string ChinaTime(DateTimeOffset at) =>
        at.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
}
