using Microsoft.Extensions.Options;

namespace WxLogistics;

/// <summary>Settings under "WxLogistics" (appsettings, environment WxLogistics__X, or --WxLogistics:X on the command line).</summary>
public sealed class WxLogisticsOptions
{
    public const string Section = "WxLogistics";

    /// <summary>Where the SQLite file and the server key live; created if missing. --data DIR sets it.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>sqlite (the default, in the data directory) or postgres (with <see cref="Connection"/>). --store sets it.</summary>
    public string Store { get; set; } = Storage.StoreFactory.Sqlite;

    /// <summary>The PostgreSQL connection string (Npgsql's form). --connection sets it.</summary>
    public string? Connection { get; set; }

    /// <summary>Base64 of 32 or more random bytes; several nodes must share one. Default: server.key in the data directory.</summary>
    public string? ServerKey { get; set; }

    /// <summary>The key of the /admin endpoints; when unset, one is created in the data directory (admin.key).</summary>
    public string? AdminKey { get; set; }

    /// <summary>The server's public base URL (https://track.example.com), used to spell out tracking-page links in full.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>How long an access_token keeps working once a newer one is issued: WeChat's 300 s; shorter only for tests.</summary>
    public int AccessTokenOverlapSeconds { get; set; } = 300;

    /// <summary>
    /// Calls an app may make of each API in a clock minute on this node before it is answered 45011; 0, the default,
    /// for no limit (WeChat documents none for these APIs). stable_token keeps WeChat's own 10,000 either way.
    /// </summary>
    public int MinuteQuota { get; set; }

    /// <summary>
    /// Calls an app may make of each API in a day (from midnight in China) on this node before it is answered 45009; 0,
    /// the default, for no limit. stable_token keeps WeChat's own 500,000 either way.
    /// </summary>
    public int DailyQuota { get; set; }

    /// <summary>
    /// The most events a waybill's path may hold; a new event past it is answered 9300526. 0, the default, for no limit
    /// (WeChat documents none). A guard against a carrier whose every retry is a new event ("updated at 10:01:07").
    /// </summary>
    public int MaxEventsPerWaybill { get; set; }
}

sealed class WxLogisticsOptionsValidator : IValidateOptions<WxLogisticsOptions>
{
    public ValidateOptionsResult Validate(string? name, WxLogisticsOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("the data directory (--data DIR) must not be empty");
        }
        else if (DataDirectoryProblem(options.DataDirectory) is { } problem)
        {
            failures.Add($"the data directory '{options.DataDirectory}' cannot be used: {problem}");
        }

        if (Storage.StoreFactory.Problem(options.Store, options.Connection) is { } storeProblem)
        {
            failures.Add(storeProblem);
        }

        if (options.AccessTokenOverlapSeconds is < 1 or > 300)
        {
            failures.Add("WxLogistics:AccessTokenOverlapSeconds must be from 1 to 300");
        }

        if (options.MinuteQuota < 0)
        {
            failures.Add("WxLogistics:MinuteQuota must be 0 (no limit) or a number of calls a minute");
        }

        if (options.DailyQuota < 0)
        {
            failures.Add("WxLogistics:DailyQuota must be 0 (no limit) or a number of calls a day");
        }

        if (options.MaxEventsPerWaybill < 0)
        {
            failures.Add("WxLogistics:MaxEventsPerWaybill must be 0 (no limit) or a number of events");
        }

        if (options.PublicBaseUrl is { } baseUrl && !Tracking.TrackingLinks.IsBaseUrl(baseUrl))
        {
            failures.Add($"WxLogistics:PublicBaseUrl '{baseUrl}' must be an absolute http(s) URL without a query or #fragment (the link's path is added to its end)");
        }

        if (options.ServerKey is { } key && !IsStrongBase64Key(key))
        {
            failures.Add("WxLogistics:ServerKey must be base64 of at least 32 bytes (for example: openssl rand -base64 32)");
        }

        if (options.AdminKey is { Length: > 0 } adminKey && !IsBearerToken(adminKey))
        {
            failures.Add("WxLogistics:AdminKey must be at least 16 characters of A-Z, a-z, 0-9 and - . _ ~ + / = (for example: openssl rand -base64 24)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// Long enough not to be guessed, and sendable as it is in <c>Authorization: Bearer</c> (RFC 6750's characters; a
    /// space or a line break could not be, and would lock every caller out).
    /// </summary>
    static bool IsBearerToken(string key) =>
        key.Length >= 16 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/' or '=');

    /// <summary>Why <paramref name="directory"/> cannot hold the store and the keys (a file, not writable …); null when it can. Creates it if missing.</summary>
    internal static string? DataDirectoryProblem(string directory)
    {
        try
        {
            if (File.Exists(directory))
            {
                return "it is a file, not a directory";
            }

            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return e.Message;
        }
    }

    static bool IsStrongBase64Key(string key)
    {
        var buffer = new byte[key.Length];
        return Convert.TryFromBase64String(key, buffer, out var written) && written >= 32;
    }
}
