using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Tracking;

/// <summary>The tracking page as a phone shows it: real headless Chromium (Debian's) driven by Playwright.</summary>
public sealed class TrackingPageBrowserTests : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    readonly TestStore store = TestStore.Create(StoreKind.Sqlite);
    ServerProcess server = null!;
    IPlaywright playwright = null!;
    IBrowser browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: ./test.sh installs Debian's chromium");
        server = await ServerProcess.StartAsync(store);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
        await server.DisposeAsync();
    }

    Task<JsonElement> OperatorAsync(params string[] args) => TestRun.OperatorAsync(store, args);

    async Task<string> WaybillWithPathAsync(params (long Time, int Type, string Msg)[] events)
    {
        var carrier = await OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        var waybill = await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", "SF1402983247123");
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var issued = await http.GetFromJsonAsync<JsonElement>(
            $"/cgi-bin/token?grant_type=client_credential&appid={carrier.GetProperty("appid")}&secret={carrier.GetProperty("secret")}");
        TestRun.RecordSecrets(issued);
        var token = issued.GetProperty("access_token").GetString();
        foreach (var (time, type, msg) in events)
        {
            using var response = await http.PostAsJsonAsync(
                $"/cgi-bin/express/delivery/path/update?access_token={token}",
                new { token = waybill.GetProperty("token").GetString(), waybill_id = "SF1402983247123", action_time = time, action_type = type, action_msg = msg });
            Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errcode").GetInt32());
        }

        return (await OperatorAsync("waybill", "link", "--delivery-id", "SF", "--waybill-id", "SF1402983247123")).GetProperty("path").GetString()!;
    }

    Task<IBrowserContext> PhoneAsync(bool javaScript = true) => browser.NewContextAsync(new BrowserNewContextOptions
    {
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        DeviceScaleFactor = 2,
        IsMobile = true,
        HasTouch = true,
        JavaScriptEnabled = javaScript,
        Locale = "zh-CN",
    });

    [Fact]
    public async Task On_a_phone_the_timeline_is_in_order_the_number_is_a_tel_link_and_hostile_text_stays_inert()
    {
        var link = await WaybillWithPathAsync(
            (1533052800, 100001, "快递员已成功取件"),
            (1533062800, 200001, "<script>alert('xss')</script>\"><img src=x onerror=alert(1)> javascript:alert(2)"),
            (1533072800, 300002, "丽影邓丽君【18666666666】正在派件"));
        await using var context = await PhoneAsync();
        var page = await context.NewPageAsync();
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) => dialogs.Add(dialog.Message);

        await page.GotoAsync(new Uri(server.BaseAddress, link).ToString());

        Assert.Equal("派送", await page.InnerTextAsync("#stage"));
        var items = await page.Locator("#timeline li .msg").AllInnerTextsAsync();
        Assert.Equal(3, items.Count);
        Assert.Equal("丽影邓丽君【18666666666】正在派件", items[0]);
        Assert.Equal("<script>alert('xss')</script>\"><img src=x onerror=alert(1)> javascript:alert(2)", items[1]);
        Assert.Equal("快递员已成功取件", items[2]);
        Assert.StartsWith("2018-08-01 05:33", await page.InnerTextAsync("#timeline li .meta"));
        Assert.Equal("tel:18666666666", await page.Locator("#timeline a").First.GetAttributeAsync("href"));
        Assert.Equal(1, await page.Locator("#timeline a").CountAsync());
        Assert.Equal(0, await page.Locator("#timeline img, #timeline script").CountAsync());
        Assert.Empty(dialogs);
        var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(width <= 390, $"the page is {width}px wide on a 390px screen");

        var screenshots = Path.Combine(CloudFunctions.RepositoryDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "tracking-page-390x844.png"), FullPage = true });
    }

    [Fact]
    public async Task The_page_works_without_JavaScript()
    {
        var link = await WaybillWithPathAsync((1533052800, 300003, "已签收，签收人：本人"));
        await using var context = await PhoneAsync(javaScript: false);
        var page = await context.NewPageAsync();

        await page.GotoAsync(new Uri(server.BaseAddress, link).ToString());

        Assert.Equal("签收", await page.InnerTextAsync("#stage"));
        Assert.Equal("已签收，签收人：本人", await page.InnerTextAsync("#timeline li .msg"));
    }

    [Fact]
    public async Task A_wrong_signature_shows_the_not_found_page()
    {
        var link = await WaybillWithPathAsync((1533052800, 100001, "揽件"));
        await using var context = await PhoneAsync();
        var page = await context.NewPageAsync();

        var response = await page.GotoAsync(new Uri(server.BaseAddress, link[..^3] + "xyz").ToString());

        Assert.Equal(404, response!.Status);
        Assert.Contains("未找到该运单", await page.InnerTextAsync("body"));
    }
}
