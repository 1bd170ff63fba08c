using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using WxLogistics.DeliveryPath;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Tracking;

/// <summary>
/// 快递轨迹详情页: the page where action_msg is shown. Server-rendered, mobile-first, no script and no external asset;
/// every carrier-supplied text is HTML-encoded, and 11-digit mainland mobile numbers become tel: links.
/// </summary>
public static partial class TrackingPage
{
    static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    // Chinese text as is; markup characters (< > & " ') are still escaped.
    static readonly HtmlEncoder Html = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    // No script may run on this page, whatever a carrier writes into action_msg.
    const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapTrackingPage(this IEndpointRouteBuilder app)
    {
        // HEAD too, answered as GET without the body: link checkers and chat previews ask with it first.
        app.MapMethods(TrackingLinks.PathPrefix + "{link}", ["GET", "HEAD"], ShowAsync)
            .WithSummary("快递轨迹详情页: the tracking page of a signed, expiring link")
            .WithDescription("HTML. A forged, altered or expired link answers a plain not-found page with HTTP 404.");
        app.MapWxApiGroup("/cgi-bin/express/business")
            .MapWxApi<TrackingLinkRequests>("/path/link", TrackingLinkRequests.Api, (requests, call, ct) => requests.CreateAsync(call, ct));
        return app;
    }

    static async Task ShowAsync(HttpContext http, string link, TrackingLinks links, WaybillTokens waybills, Store store, Operability.RequestErrorLog errors)
    {
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.ContentType = "text/html; charset=utf-8";

        var head = HttpMethods.IsHead(http.Request.Method);
        string page;
        try
        {
            var key = links.Open(link);
            var waybill = key is { } k ? await waybills.FindAsync(k, http.RequestAborted) : null;
            if (waybill is null)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                page = NotFound();
            }
            else if (head)
            {
                // A HEAD is answered as the GET would be, without reading the path for a body it does not send.
                page = "";
            }
            else
            {
                var carrier = await store.FindCarrierAsync(waybill.Key.DeliveryId, http.RequestAborted);
                var path = await store.ReadPathAsync(waybill.Key, http.RequestAborted);
                page = Render(carrier?.Name ?? waybill.Key.DeliveryId.Value, waybill.Key.WaybillId.Value, path);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The store is away (or failed otherwise): a page a person can read, and a status a link checker can. The
            // link itself, which opens the path, stays out of the log.
            errors.Failed(e, $"{TrackingLinks.PathPrefix}…", "the unavailable page");
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = "30";
            page = Unavailable();
        }

        if (!head)
        {
            await http.Response.WriteAsync(page, http.RequestAborted);
        }
    }

    /// <summary>The page of one waybill: its stage, then the path, newest first.</summary>
    public static string Render(string carrierName, string waybillId, IReadOnlyList<PathEvent> path)
    {
        var html = Html;
        var latest = path.Count == 0 ? (PathEvent?)null : path[^1];
        var stage = latest is { } last ? Stage((ActionType)last.ActionType) : "待揽件";

        var page = new StringBuilder(2048 + (path.Count * 256));
        page.Append(Head("快递轨迹详情"));
        page.Append("<main><header class=\"card\">");
        page.Append("<p class=\"carrier\">").Append(html.Encode(carrierName)).Append("</p>");
        page.Append("<p class=\"waybill\">运单号 <span id=\"waybill-id\">").Append(html.Encode(waybillId)).Append("</span></p>");
        page.Append("<p class=\"stage\" id=\"stage\">").Append(html.Encode(stage)).Append("</p>");
        page.Append("</header>");

        if (path.Count == 0)
        {
            page.Append("<p class=\"empty\">暂无物流轨迹</p>");
        }
        else
        {
            page.Append("<ol class=\"timeline\" id=\"timeline\">");
            for (var i = path.Count - 1; i >= 0; i--)
            {
                var item = path[i];
                page.Append(i == path.Count - 1 ? "<li class=\"latest\">" : "<li>");
                page.Append("<p class=\"msg\">").Append(LinkPhoneNumbers(item.ActionMsg)).Append("</p>");
                page.Append("<p class=\"meta\"><time datetime=\"")
                    .Append(ChinaTime(item.ActionTime).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture))
                    .Append("\">")
                    .Append(ChinaTime(item.ActionTime).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))
                    .Append("</time> · ")
                    .Append(html.Encode(Label((ActionType)item.ActionType)))
                    .Append("</p></li>");
            }

            page.Append("</ol>");
        }

        page.Append("<footer>时间为北京时间 (UTC+8)</footer></main></body></html>");
        return page.ToString();
    }

    public static string Unavailable() =>
        Head("暂时无法显示") + "<main><header class=\"card\"><p class=\"stage\">暂时无法显示</p><p>物流信息暂时无法查询，请稍后再试。</p></header></main></body></html>";

    public static string NotFound() =>
        Head("未找到") + "<main><header class=\"card\"><p class=\"stage\">未找到该运单</p><p>链接无效或已过期，请向商家重新获取。</p></header></main></body></html>";

    /// <summary>The stage shown at the top, from the latest event: 揽件 / 运输 / 派送 / 签收 / 异常.</summary>
    public static string Stage(ActionType type) => type switch
    {
        ActionType.PickedUp or ActionType.PickupFailed or ActionType.CourierAssigned => "揽件",
        ActionType.InTransit => "运输",
        ActionType.OutForDelivery or ActionType.DeliveryFailed => "派送",
        ActionType.Delivered => "签收",
        _ => "异常",
    };

    static string Label(ActionType type) => type switch
    {
        ActionType.PickedUp => "揽件成功",
        ActionType.PickupFailed => "揽件失败",
        ActionType.CourierAssigned => "分配业务员",
        ActionType.InTransit => "运输中",
        ActionType.OutForDelivery => "开始派送",
        ActionType.Delivered => "签收成功",
        ActionType.DeliveryFailed => "签收失败",
        ActionType.Cancelled => "订单取消",
        ActionType.Held => "订单滞留",
        _ => "轨迹更新",
    };

    static DateTimeOffset ChinaTime(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToOffset(ChinaOffset);

    /// <summary>Encodes the message; each mainland mobile number (11 digits, 1[3-9]…) becomes a tel: link.</summary>
    public static string LinkPhoneNumbers(string message)
    {
        var html = Html;
        var result = new StringBuilder(message.Length + 64);
        var at = 0;
        foreach (Match match in MobileNumber().Matches(message))
        {
            result.Append(html.Encode(message[at..match.Index]));
            result.Append("<a href=\"tel:").Append(match.Value).Append("\">").Append(match.Value).Append("</a>");
            at = match.Index + match.Length;
        }

        return result.Append(html.Encode(message[at..])).ToString();
    }

    [GeneratedRegex("(?<![0-9])1[3-9][0-9]{9}(?![0-9])")]
    private static partial Regex MobileNumber();

    static string Head(string title) => $$"""
        <!doctype html>
        <html lang="zh-CN"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{title}}</title>
        <style>
        body{margin:0;background:#f4f5f7;color:#1f2329;font:15px/1.5 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif}
        main{max-width:640px;margin:0 auto;padding:12px}
        .card{background:#fff;border-radius:12px;padding:16px;margin-bottom:12px}
        .card p{margin:0}
        .carrier{font-size:14px;color:#646a73}
        .waybill{font-size:16px;font-weight:600;word-break:break-all}
        .stage{margin-top:8px!important;font-size:22px;font-weight:700;color:#07c160}
        .timeline{list-style:none;margin:0;padding:16px 16px 16px 32px;background:#fff;border-radius:12px}
        .timeline li{position:relative;padding:0 0 16px 4px;border-left:2px solid #e5e6eb;margin-left:-18px;padding-left:18px}
        .timeline li:last-child{border-left-color:transparent;padding-bottom:0}
        .timeline li::before{content:"";position:absolute;left:-7px;top:4px;width:12px;height:12px;border-radius:50%;background:#c9cdd4}
        .timeline li.latest::before{background:#07c160}
        .timeline li.latest .msg{color:#1f2329;font-weight:600}
        .msg{margin:0;color:#4e5969;word-break:break-word;white-space:pre-wrap}
        .meta{margin:2px 0 0;font-size:12px;color:#86909c}
        a{color:#1677ff}
        .empty{background:#fff;border-radius:12px;padding:16px;color:#86909c}
        footer{text-align:center;font-size:12px;color:#86909c;padding:12px}
        </style></head><body>
        """;
}
