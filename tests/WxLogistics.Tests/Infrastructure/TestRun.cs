using System.Text.Json;
using Microsoft.Extensions.Logging;
using WxLogistics.Cli;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// What a whole test run leaves behind for tests/scripts/scan-logs.sh: every server log line (TestResults/server.log)
/// and every secret the tests were handed (TestResults/secrets.txt). The scan fails the run if a secret, a token
/// or a phone number appears in the logs.
/// </summary>
public static class TestRun
{
    static readonly object Gate = new();
    static readonly string Directory = Path.Combine(CloudFunctions.RepositoryDirectory, "TestResults");

    public static string LogPath { get; } = Path.Combine(Directory, "server.log");

    public static string SecretsPath { get; } = Path.Combine(Directory, "secrets.txt");

    public static void Log(string text) => Append(LogPath, text);

    /// <summary>Remembers the credentials in an answer: secret, token, access_token, secretKey, wherever they are.</summary>
    public static void RecordSecrets(JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in json.EnumerateObject())
            {
                if (property.Name is "secret" or "token" or "access_token" or "secretKey" && property.Value.ValueKind == JsonValueKind.String)
                {
                    Append(SecretsPath, property.Value.GetString()!);
                }
                else
                {
                    RecordSecrets(property.Value);
                }
            }
        }
    }

    /// <summary>Runs an operator verb on a store; returns its JSON and remembers the secrets it printed.</summary>
    public static async Task<JsonElement> OperatorAsync(TestStore store, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await OperatorCli.RunAsync([.. args, .. store.Args], output, error);
        Assert.True(exitCode == 0, $"`{string.Join(' ', args)}` failed ({exitCode}): {error}");
        var json = JsonDocument.Parse(output.ToString()).RootElement.Clone();
        RecordSecrets(json);
        return json;
    }

    static void Append(string path, string text)
    {
        lock (Gate)
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.AppendAllText(path, text + Environment.NewLine);
        }
    }

    /// <summary>Sends an in-process server's logs, every level, to the run's log file.</summary>
    public sealed class LoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new FileLogger(categoryName);

        public void Dispose()
        {
        }

        sealed class FileLogger(string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                TestRun.Log($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : Environment.NewLine + exception)}");
        }
    }
}
