using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// A WxLogistics server on a real SQLite directory, driven through its HTTP surface and its operator verbs.
/// Several servers may be started one after another on the same directory (restarts).
/// </summary>
public sealed class WxServer : WebApplicationFactory<Program>
{
    public WxServer(TestStore? store = null, ManualClock? clock = null)
    {
        Store = store ?? TestStore.Create(StoreKind.Sqlite);
        Clock = clock;
    }

    public WxServer(StoreKind kind, ManualClock? clock = null)
        : this(TestStore.Create(kind), clock)
    {
    }

    public TestStore Store { get; }

    public string DataDirectory => Store.DataDirectory;

    public ManualClock? Clock { get; }

    /// <summary>Further settings of the server ("WxLogistics:MinuteQuota" …), as configuration would give them; set before the first request.</summary>
    public Dictionary<string, string> Settings { get; } = [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("WxLogistics:DataDirectory", Store.DataDirectory);
        builder.UseSetting("WxLogistics:Store", Store.StoreName);
        if (Store.Connection is not null)
        {
            builder.UseSetting("WxLogistics:Connection", Store.Connection);
        }

        if (Clock is not null)
        {
            builder.ConfigureServices(services => services.AddSingleton<TimeProvider>(Clock));
        }

        builder.ConfigureLogging(logging => logging.AddProvider(new TestRun.LoggerProvider()).SetMinimumLevel(LogLevel.Debug));
    }

    /// <summary>Runs an operator verb on this server's data directory; returns its JSON output.</summary>
    public Task<JsonElement> OperatorAsync(params string[] args) => TestRun.OperatorAsync(Store, args);

    public async Task<App> AddCarrierAsync(string deliveryId = "SF", string name = "顺丰速运")
    {
        var json = await OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", deliveryId, "--name", name);
        return new App(json.GetProperty("appid").GetString()!, json.GetProperty("secret").GetString()!);
    }

    public async Task<App> AddMerchantAsync(string name = "Demo shop")
    {
        var json = await OperatorAsync("app", "add", "--role", "merchant", "--name", name);
        return new App(json.GetProperty("appid").GetString()!, json.GetProperty("secret").GetString()!);
    }

    public async Task<Waybill> AddWaybillAsync(
        string deliveryId = "SF", string? waybillId = null, string? token = null, App? merchant = null, string? orderId = null, string? openId = null)
    {
        List<string> args = ["waybill", "add", "--delivery-id", deliveryId];
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                args.AddRange([name, value]);
            }
        }

        Add("--waybill-id", waybillId);
        Add("--token", token);
        Add("--merchant-appid", merchant?.AppId);
        Add("--order-id", orderId);
        Add("--openid", openId);
        var json = await OperatorAsync([.. args]);
        return new Waybill(deliveryId, json.GetProperty("waybill_id").GetString()!, json.GetProperty("token").GetString()!);
    }

    /// <summary>
    /// What most path tests start from: carrier SF, a merchant, a waybill of the merchant's, and both apps' access_tokens.
    /// </summary>
    public async Task<Shipment> AddShipmentAsync(string? waybillId = null, string? orderId = null, string? openId = null)
    {
        var carrier = await AddCarrierAsync("SF");
        var merchant = await AddMerchantAsync();
        var waybill = await AddWaybillAsync("SF", waybillId, merchant: merchant, orderId: orderId, openId: openId);
        return new Shipment(merchant, waybill, await AccessTokenAsync(carrier), await AccessTokenAsync(merchant));
    }

    public async Task<string> AccessTokenAsync(App app)
    {
        var reply = await GetJsonAsync($"/cgi-bin/token?grant_type=client_credential&appid={app.AppId}&secret={app.Secret}");
        Assert.True(reply.TryGetProperty("access_token", out var token), reply.ToString());
        return token.GetString()!;
    }

    public async Task<JsonElement> GetJsonAsync(string url)
    {
        using var response = await CreateClient().GetAsync(url);
        return await ReadWxAsync(response);
    }

    public Task<JsonElement> PostJsonAsync(string url, object body) =>
        PostRawAsync(url, JsonSerializer.SerializeToUtf8Bytes(body));

    /// <summary>Posts the bytes as they are, labelled with the content type (none when null).</summary>
    public async Task<JsonElement> PostRawAsync(string url, byte[] body, string? contentType = "application/json")
    {
        using var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await CreateClient().PostAsync(url, content);
        return await ReadWxAsync(response);
    }

    public Task<JsonElement> UpdatePathAsync(string accessToken, object body) =>
        PostJsonAsync($"/cgi-bin/express/delivery/path/update?access_token={accessToken}", body);

    public Task<JsonElement> GetPathAsync(string accessToken, object body) =>
        PostJsonAsync($"/cgi-bin/express/business/path/get?access_token={accessToken}", body);

    /// <summary>Every answer of the API is HTTP 200 with a JSON body.</summary>
    static async Task<JsonElement> ReadWxAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        var json = JsonDocument.Parse(Encoding.UTF8.GetBytes(text)).RootElement.Clone();
        TestRun.RecordSecrets(json);
        return json;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}

public sealed record App(string AppId, string Secret);

public sealed record Waybill(string DeliveryId, string WaybillId, string Token);

public sealed record Shipment(App Merchant, Waybill Waybill, string CarrierToken, string MerchantToken);

/// <summary>
/// Directories for the tests' stores and files, under one directory per test run (run-PID-…). A full run writes
/// gigabytes (the backup tests' stores among them), and runs used to leave them all behind: each run now deletes the
/// directories of runs whose process has ended. (The test host is not always let run its exit handlers, so a run
/// cannot be relied on to delete its own.) Set WXLOGISTICS_KEEP_TEST_FILES=1 to keep them for a look.
/// </summary>
public static class TempDirectory
{
    static readonly string Root = Path.Combine(Path.GetTempPath(), "wxlogistics-tests");
    static readonly string RunDirectory = Path.Combine(Root, $"run-{Environment.ProcessId}-{Guid.NewGuid():n}");

    static TempDirectory()
    {
        if (Environment.GetEnvironmentVariable("WXLOGISTICS_KEEP_TEST_FILES") == "1" || !Directory.Exists(Root))
        {
            return;
        }

        foreach (var earlier in Directory.GetDirectories(Root))
        {
            var name = Path.GetFileName(earlier);
            var parts = name.Split('-');
            // Older runs put their directories straight under the root, with no process id to ask about.
            var ended = parts is not ["run", var pid, _] || !int.TryParse(pid, out var id) || !IsRunning(id);
            if (ended)
            {
                try
                {
                    Directory.Delete(earlier, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Held or read-only: left for the next run, or the operating system's cleaning.
                }
            }
        }
    }

    static bool IsRunning(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static string Create()
    {
        var path = Path.Combine(RunDirectory, Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(path);
        return path;
    }
}
