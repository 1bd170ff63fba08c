namespace WxLogistics.Client;

/// <summary>
/// The entry point of the SDK: one app's client for WeChat's logistics APIs, with sub-clients per area.
/// It obtains and caches the app's access_token (stable_token by default) and refreshes it before it expires.
/// </summary>
/// <example>
/// <code>
/// var client = new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx…", AppSecret = "…", BaseAddress = new Uri("http://localhost:5000") });
/// await client.DeliveryPath.UpdateAsync(new PathUpdate("TOKEN", new WaybillId("12345678901234567890"), DateTimeOffset.UtcNow, ActionType.OutForDelivery, "派件中"));
/// </code>
/// </example>
public sealed class WxLogisticsClient : IDisposable
{
    readonly HttpClient http;
    readonly bool ownsHttpClient;

    /// <summary>Creates a client that uses its own <see cref="HttpClient"/>.</summary>
    /// <param name="options">The app's credentials and the base address.</param>
    public WxLogisticsClient(WxLogisticsClientOptions options)
        : this(options, new HttpClient(), ownsHttpClient: true)
    {
    }

    /// <summary>Creates a client that sends through the caller's <see cref="HttpClient"/> (which the caller disposes).</summary>
    /// <param name="options">The app's credentials and the base address.</param>
    /// <param name="httpClient">The HTTP client to send with; its own BaseAddress is not used.</param>
    public WxLogisticsClient(WxLogisticsClientOptions options, HttpClient httpClient)
        : this(options, httpClient, ownsHttpClient: false)
    {
    }

    WxLogisticsClient(WxLogisticsClientOptions options, HttpClient httpClient, bool ownsHttpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        http = httpClient;
        this.ownsHttpClient = ownsHttpClient;
        var api = new ApiConnection(http, options);
        DeliveryPath = new DeliveryPathClient(api);
        BusinessPath = new BusinessPathClient(api);
        Orders = new OrdersClient(api);
    }

    /// <summary>The carrier's APIs (运力方): updatePath, getContact.</summary>
    public DeliveryPathClient DeliveryPath { get; }

    /// <summary>The merchant's APIs (小程序使用): getPath.</summary>
    public BusinessPathClient BusinessPath { get; }

    /// <summary>The merchant's order APIs (小程序使用): addOrder, cancelOrder, getOrder, getAllDelivery, testUpdateOrder.</summary>
    public OrdersClient Orders { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsHttpClient)
        {
            http.Dispose();
        }
    }
}

/// <summary>Settings of a <see cref="WxLogisticsClient"/>.</summary>
public sealed class WxLogisticsClientOptions
{
    /// <summary>WeChat's API host, the default base address.</summary>
    public static readonly Uri WeChatApi = new("https://api.weixin.qq.com");

    /// <summary>The app's AppID.</summary>
    public string AppId { get; set; } = "";

    /// <summary>The app's AppSecret.</summary>
    public string AppSecret { get; set; } = "";

    /// <summary>
    /// Where the APIs are: https://api.weixin.qq.com (the default) or a WxLogistics server, also one behind a proxy path
    /// (https://gateway.example.com/wx/ is called at /wx/cgi-bin/…).
    /// </summary>
    public Uri BaseAddress { get; set; } = WeChatApi;

    /// <summary>Use /cgi-bin/stable_token (the default) rather than /cgi-bin/token, which retires the app's other tokens.</summary>
    public bool UseStableToken { get; set; } = true;

    /// <summary>How long before its expiry a cached access_token is renewed.</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock, for tests.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(AppId) || string.IsNullOrWhiteSpace(AppSecret))
        {
            throw new ArgumentException("AppId and AppSecret are required");
        }

        if (BaseAddress is not { IsAbsoluteUri: true, Scheme: "http" or "https" })
        {
            throw new ArgumentException($"BaseAddress must be an absolute http or https URI, not '{BaseAddress}'");
        }

        if (RefreshBeforeExpiry < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RefreshBeforeExpiry), RefreshBeforeExpiry, "RefreshBeforeExpiry cannot be negative");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
