using System.Text;
using System.Text.RegularExpressions;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Operator;

/// <summary>The long verbs at a terminal: a progress bar drawn in place, where a log or a pipe gets plain lines.</summary>
public sealed partial class TerminalProgressTests : IAsyncLifetime
{
    const long Start = 1_764_000_000;

    readonly WxServer server = new(StoreKind.Sqlite);
    readonly string directory = TempDirectory.Create();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    /// <summary>What the terminal shows once its cursor movements are done: the text of each line as last drawn.</summary>
    static string[] Lines(string screen) =>
        [.. Escape().Replace(screen, "").Split('\n').Select(line => line.Split('\r').LastOrDefault(part => part.Trim().Length > 0, "").TrimEnd())];

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial Regex Escape();

    [Fact]
    public async Task An_operator_importing_at_a_terminal_sees_a_bar_with_rows_and_rate_that_ends_full_followed_by_the_summary()
    {
        await server.AddCarrierAsync("SF");
        await server.AddWaybillAsync("SF", waybillId: "SF000001");
        var file = Path.Combine(directory, "events.jsonl");
        var lines = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
        {
            lines.Append($$"""{"delivery_id":"SF","waybill_id":"SF000001","action_time":{{Start + i}},"action_type":100001,"action_msg":"到达 {{i}}"}""").Append('\n');
        }

        await File.WriteAllTextAsync(file, lines.ToString());

        var (exitCode, screen) = await ServerProcess.RunInTerminalAsync(["path", "import", file, .. server.Store.Args]);

        Assert.Equal(0, exitCode);

        // Drawn with the terminal's own means: the cursor hidden while the bar is redrawn in place, and shown again.
        Assert.Contains("\x1b[?25l", screen);
        Assert.Contains("\x1b[?25h", screen);
        Assert.Contains("━", screen);
        var shown = Lines(screen);
        Assert.Contains(shown, line => Regex.IsMatch(line, @"^events\.jsonl: 20,000 rows, [0-9,]+ rows/s ━+ 100% 00:00:00"));
        Assert.DoesNotContain(shown, line => line.Contains("left", StringComparison.Ordinal));

        // The summary follows the bar, as a table for people.
        var summary = string.Join('\n', shown.SkipWhile(line => !line.Contains("100%", StringComparison.Ordinal)));
        Assert.Matches(@"accepted\s+20000", summary);
        Assert.Matches(@"rejected\s+0", summary);
    }
}
