using System.Diagnostics;
using System.Text.Json;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// Runs the cloud functions of tests/cloud/functions with Node.js and the real wx-server-sdk from npm (installed by
/// ./test.sh), pointed at a server only through the environment, as a cloud-function developer would.
/// </summary>
public static class CloudFunctions
{
    public static string RepositoryDirectory { get; } = RepositoryRoot();

    public static string CloudDirectory { get; } = Path.Combine(RepositoryDirectory, "tests", "cloud");

    /// <param name="functionName">A folder of tests/cloud/functions.</param>
    /// <param name="gatewayUrl">The server's base URL plus gateway_path.</param>
    /// <param name="env">The env the function runs in (SCF_NAMESPACE); null: none named, so the default env.</param>
    /// <param name="secretId">TENCENTCLOUD_SECRETID.</param>
    /// <param name="secretKey">TENCENTCLOUD_SECRETKEY.</param>
    /// <param name="cloudEvent">The event passed to main().</param>
    /// <param name="clockSkewSeconds">Shifts the function host's clock.</param>
    public static async Task<JsonElement> RunAsync(
        string functionName, Uri gatewayUrl, string? env, string secretId, string secretKey, object? cloudEvent = null, int clockSkewSeconds = 0)
    {
        var sdk = Path.Combine(CloudDirectory, "node_modules", "wx-server-sdk", "package.json");
        Assert.True(File.Exists(sdk), $"wx-server-sdk is not installed in {CloudDirectory}: run ./test.sh (it runs npm ci there)");

        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = CloudDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-r", "./clock-skew.js", "invoke.js", Path.Combine("functions", functionName), JsonSerializer.Serialize(cloudEvent ?? new { }) })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["TCB_CONTEXT_CNFG"] = JsonSerializer.Serialize(new { URL = gatewayUrl.ToString() });
        info.Environment["TENCENTCLOUD_SECRETID"] = secretId;
        info.Environment["TENCENTCLOUD_SECRETKEY"] = secretKey;
        info.Environment["CLOCK_SKEW_SECONDS"] = clockSkewSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (env is null)
        {
            // Outside SCF; keeps node-sdk's metadata probe from leaving the machine.
            info.Environment["TENCENTCLOUD"] = "true";
        }
        else
        {
            // Inside a cloud function the env is the function's namespace.
            info.Environment["TENCENTCLOUD_RUNENV"] = "SCF";
            info.Environment["SCF_NAMESPACE"] = env;
            info.Environment["TENCENTCLOUD_REGION"] = "ap-shanghai";
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        var resultLine = (await output).Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        Assert.True(resultLine is not null, $"the function printed no result (exit {process.ExitCode}): {await output} {await error}");
        return JsonDocument.Parse(resultLine["RESULT ".Length..]).RootElement.Clone();
    }

    static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "WxLogistics.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the tests run outside the repository");
    }
}
