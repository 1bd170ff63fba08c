using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace WxLogistics.Client;

/// <summary>The two forms of WeChat's message pushes, chosen in the app's message server settings.</summary>
public enum EventFormat
{
    /// <summary>XML with strings in CDATA.</summary>
    Xml,

    /// <summary>JSON.</summary>
    Json,
}

/// <summary>A push body that is not the expected event: malformed, or another event.</summary>
public sealed class WxEventException(string message) : FormatException(message);

/// <summary>
/// Helpers for the pushes WeChat (or a WxLogistics server) sends to an app's message server: verifying the signature
/// of the query string, and reading the add_waybill (to carriers) and add_express_path (to merchants) events in
/// either form. No ASP.NET Core dependency: pass the query values and the body as text.
/// </summary>
/// <example>
/// <code>
/// app.MapPost("/wx/merchant", async (HttpRequest request) =>
/// {
///     if (!LogisticsEvents.VerifySignature(pushToken, request.Query["signature"], request.Query["timestamp"], request.Query["nonce"]))
///         return Results.Unauthorized();
///     var path = LogisticsEvents.ParseAddExpressPath(await new StreamReader(request.Body).ReadToEndAsync());
///     // … store path.Actions, keeping the highest path.Version …
///     return Results.Text("success");
/// });
/// </code>
/// </example>
public static class LogisticsEvents
{
    /// <summary>
    /// Whether the push's signature is the SHA-1 of the sorted token, timestamp and nonce (compared in constant time),
    /// and, with <paramref name="maxAge"/>, whether its timestamp is that recent.
    /// </summary>
    /// <param name="token">The message server's token (its Token setting).</param>
    /// <param name="signature">The signature query parameter.</param>
    /// <param name="timestamp">The timestamp query parameter (Unix seconds).</param>
    /// <param name="nonce">The nonce query parameter.</param>
    /// <param name="maxAge">How old a push may be; null to not check.</param>
    /// <param name="timeProvider">The clock for <paramref name="maxAge"/>; the system clock when null.</param>
    /// <returns>True when the push is signed with the token.</returns>
    public static bool VerifySignature(string token, string? signature, string? timestamp, string? nonce, TimeSpan? maxAge = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (string.IsNullOrEmpty(signature) || string.IsNullOrEmpty(timestamp) || nonce is null)
        {
            return false;
        }

        string[] parts = [token, timestamp, nonce];
        Array.Sort(parts, StringComparer.Ordinal);
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts)))));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature.ToLowerInvariant())))
        {
            return false;
        }

        if (maxAge is { } age)
        {
            var now = (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
            return long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var sent) && Math.Abs(now - sent) <= age.TotalSeconds;
        }

        return true;
    }

    /// <summary>Reads an add_waybill push (请求下单事件), XML or JSON, as a carrier's message server receives it.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The order to take.</returns>
    /// <exception cref="WxEventException">The body is malformed or another event.</exception>
    public static AddWaybillEvent ParseAddWaybill(string body)
    {
        var message = EventFields.Parse(body, "add_waybill");
        return new AddWaybillEvent
        {
            Format = message.Format,
            ToUserName = message.Text("ToUserName"),
            FromUserName = message.Text("FromUserName"),
            CreateTime = message.Time("CreateTime"),
            Token = message.Required("Token"),
            OrderId = message.Required("OrderID"),
            BizId = message.Text("BizID"),
            BizPassword = message.Text("BizPwd"),
            ShopAppId = message.Text("ShopAppID"),
            WaybillId = message.Text("WayBillID"),
            Remark = message.Text("Remark"),
            Sender = Party(message.Child("Sender")),
            Receiver = Party(message.Child("Receiver")),
            Cargo = message.Child("Cargo") is { } cargo
                ? new OrderCargo
                {
                    Count = cargo.Int32("Count"),
                    Weight = cargo.Decimal("Weight"),
                    SpaceX = cargo.Decimal("Space_X"),
                    SpaceY = cargo.Decimal("Space_Y"),
                    SpaceZ = cargo.Decimal("Space_Z"),
                    DetailList = cargo.Children("DetailList").Select(i => new CargoItem(i.Text("Name"), i.Int32("Count"))).ToList(),
                }
                : new OrderCargo(),
            Insured = message.Child("Insured") is { } insured ? new OrderInsurance(insured.Int32("UseInsured"), insured.Integer("InsuredValue")) : null,
            Service = message.Child("Service") is { } service ? new OrderService(service.Int32("ServiceType"), service.Text("ServiceName")) : null,
        };
    }

    /// <summary>Reads an add_express_path push (运单轨迹更新事件), XML or JSON, as a merchant's message server receives it.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The waybill's whole path so far, with its version.</returns>
    /// <exception cref="WxEventException">The body is malformed or another event.</exception>
    public static AddExpressPathEvent ParseAddExpressPath(string body)
    {
        var message = EventFields.Parse(body, "add_express_path");
        return new AddExpressPathEvent(
            message.Format,
            message.Text("ToUserName"),
            message.Text("FromUserName"),
            message.Time("CreateTime"),
            new DeliveryId(message.Required("DeliveryID")),
            new WaybillId(message.Required("WayBillId")),
            message.Text("OrderId"),
            message.RequiredInteger("Version", 0),
            message.Children("Actions")
                .Select(a => new PathItem(a.Time("ActionTime"), (ActionType)a.Int32("ActionType"), a.Text("ActionMsg")))
                .ToList());
    }

    /// <summary>The Event of a push (add_waybill, cancel_waybill, add_express_path …), to choose the parser of a shared URL.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The event name, in lower case.</returns>
    /// <exception cref="WxEventException">The body is neither XML nor JSON.</exception>
    public static string EventName(string body) => EventFields.Parse(body, expectedEvent: null).Text("Event").ToLowerInvariant();

    /// <summary>Reads a cancel_waybill push (取消订单事件), XML or JSON, as a carrier's message server receives it.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The order to cancel.</returns>
    /// <exception cref="WxEventException">The body is malformed or another event.</exception>
    public static CancelWaybillEvent ParseCancelWaybill(string body)
    {
        var message = EventFields.Parse(body, "cancel_waybill");
        return new CancelWaybillEvent
        {
            Format = message.Format,
            ToUserName = message.Text("ToUserName"),
            FromUserName = message.Text("FromUserName"),
            OrderId = message.Text("OrderID"),
            BizId = message.Text("BizID"),
            ShopAppId = message.Text("ShopAppID"),
            WaybillId = message.Text("WayBillID"),
        };
    }

    /// <summary>Reads a check_biz push (审核商户事件), XML or JSON, as a carrier's message server receives it.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The account to check.</returns>
    /// <exception cref="WxEventException">The body is malformed or another event.</exception>
    public static CheckBizEvent ParseCheckBiz(string body) => ParseAccountEvent<CheckBizEvent>(body, "check_biz");

    /// <summary>Reads a get_quota push (查询商户余额事件), XML or JSON, as a carrier's message server receives it.</summary>
    /// <param name="body">The request body.</param>
    /// <returns>The account whose balance is asked for.</returns>
    /// <exception cref="WxEventException">The body is malformed or another event.</exception>
    public static GetQuotaEvent ParseGetQuota(string body) => ParseAccountEvent<GetQuotaEvent>(body, "get_quota");

    static T ParseAccountEvent<T>(string body, string name)
        where T : CarrierAccountEvent, new()
    {
        var message = EventFields.Parse(body, name);
        return new T
        {
            Format = message.Format,
            ToUserName = message.Text("ToUserName"),
            FromUserName = message.Text("FromUserName"),
            BizId = message.Required("BizID"),
            BizPassword = message.Text("BizPwd"),
            ShopAppId = message.Text("ShopAppID"),
        };
    }

    static OrderParty Party(EventFields? party) => new()
    {
        Name = party?.Text("Name") ?? "",
        Tel = party?.Text("Tel"),
        Mobile = party?.Text("Mobile"),
        Company = party?.Text("Company"),
        PostCode = party?.Text("PostCode"),
        Country = party?.Text("Country"),
        Province = party?.Text("Province") ?? "",
        City = party?.Text("City") ?? "",
        Area = party?.Text("Area") ?? "",
        Address = party?.Text("Address") ?? "",
    };
}

/// <summary>An add_waybill push: a merchant's order for the carrier, which answers with <see cref="Reply"/>.</summary>
public sealed class AddWaybillEvent : CarrierOrderEvent
{

    /// <summary>When the push was made.</summary>
    public DateTimeOffset CreateTime { get; init; }

    /// <summary>The waybill's token: keep it, updatePath and getContact need it.</summary>
    public string Token { get; init; } = "";

    /// <summary>The account's password (BizPwd).</summary>
    public string BizPassword { get; init; } = "";

    /// <summary>Printed on the label.</summary>
    public string Remark { get; init; } = "";

    /// <summary>Who sends.</summary>
    public required OrderParty Sender { get; init; }

    /// <summary>Who receives.</summary>
    public required OrderParty Receiver { get; init; }

    /// <summary>What is sent.</summary>
    public required OrderCargo Cargo { get; init; }

    /// <summary>Insurance, when the order has it.</summary>
    public OrderInsurance? Insured { get; init; }

    /// <summary>The service type, when the order has one.</summary>
    public OrderService? Service { get; init; }


    /// <summary>
    /// The reply body, in the event's form: user names swapped, Token, OrderID and BizID echoed, then the waybill
    /// (on success) and the result.
    /// </summary>
    /// <param name="result">Accepted with a waybill, or refused with one of the documented ResultCodes.</param>
    /// <param name="timeProvider">The clock for CreateTime; the system clock when null.</param>
    /// <returns>The body to answer the push with.</returns>
    public string Reply(AddWaybillResult result, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        return ReplyBody(
            "add_waybill",
            timeProvider,
            ("Token", Token), ("OrderID", OrderId), ("BizID", BizId), ("WayBillID", result.WaybillId ?? ""),
            ("ResultCode", result.ResultCode), ("ResultMsg", result.ResultMessage), ("WaybillData", result.WaybillData ?? ""));
    }
}

/// <summary>What the pushes to a carrier (add_waybill, cancel_waybill, check_biz, get_quota) have in common.</summary>
public abstract class CarrierEvent
{
    /// <summary>The form it came in; the reply goes back in the same.</summary>
    public EventFormat Format { get; init; }

    /// <summary>The carrier's account (the reply's FromUserName).</summary>
    public string ToUserName { get; init; } = "";

    /// <summary>The sender (the reply's ToUserName).</summary>
    public string FromUserName { get; init; } = "";

    /// <summary>The merchant's account with the carrier.</summary>
    public string BizId { get; init; } = "";

    /// <summary>The merchant's AppID.</summary>
    public string ShopAppId { get; init; } = "";

    /// <summary>The Content-Type of the reply's body, in the push's form.</summary>
    public string ReplyContentType => EventReply.ContentType(Format);

    /// <summary>A reply in the push's form: the user names swapped, CreateTime now, the event's name, then <paramref name="fields"/>.</summary>
    private protected string ReplyBody(string eventName, TimeProvider? timeProvider, params (string Name, object Value)[] fields) =>
        EventReply.Serialize(
            Format,
            [
                ("ToUserName", FromUserName), ("FromUserName", ToUserName), ("CreateTime", (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds()),
                ("MsgType", "event"), ("Event", eventName), .. fields,
            ]);
}

/// <summary>What the pushes about one order (add_waybill, cancel_waybill) have besides.</summary>
public abstract class CarrierOrderEvent : CarrierEvent
{
    /// <summary>The merchant's order id: the same OrderID (with the same BizID) must get the same waybill.</summary>
    public string OrderId { get; init; } = "";

    /// <summary>The waybill: on add_waybill a number WeChat allocated, or "0" (the carrier chooses one).</summary>
    public string WaybillId { get; init; } = "";
}

/// <summary>What the pushes about a merchant's account (check_biz, get_quota) have besides.</summary>
public abstract class CarrierAccountEvent : CarrierEvent
{
    /// <summary>The account's password (BizPwd).</summary>
    public string BizPassword { get; init; } = "";
}

/// <summary>A check_biz push: a merchant binds an account; the carrier checks it and answers with <see cref="Reply"/>.</summary>
public sealed class CheckBizEvent : CarrierAccountEvent
{
    /// <summary>The reply body: user names swapped, BizID echoed, then the result.</summary>
    /// <param name="resultCode">0 accepted; 10001 no such account; 10002 wrong password; -1 other.</param>
    /// <param name="resultMessage">Why, shown to the merchant.</param>
    /// <param name="timeProvider">The clock for CreateTime; the system clock when null.</param>
    /// <returns>The body to answer the push with.</returns>
    public string Reply(int resultCode, string resultMessage, TimeProvider? timeProvider = null) =>
        ReplyBody("check_biz", timeProvider, ("BizID", BizId), ("ResultCode", resultCode), ("ResultMsg", resultMessage));
}

/// <summary>A get_quota push: how many labels a merchant's account has left; the carrier answers with <see cref="Reply"/>.</summary>
public sealed class GetQuotaEvent : CarrierAccountEvent
{
    /// <summary>The reply body: user names swapped, BizID echoed, then the result and the balance.</summary>
    /// <param name="resultCode">0 answered; 10001 no such account; 10002 wrong password; -1 other.</param>
    /// <param name="resultMessage">Why, shown to the merchant.</param>
    /// <param name="quota">The labels left (0: none); sent with any result, as WeChat's example does.</param>
    /// <param name="timeProvider">The clock for CreateTime; the system clock when null.</param>
    /// <returns>The body to answer the push with.</returns>
    public string Reply(int resultCode, string resultMessage, long quota, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quota);
        return ReplyBody("get_quota", timeProvider, ("BizID", BizId), ("ResultCode", resultCode), ("ResultMsg", resultMessage), ("Quota", quota));
    }
}

/// <summary>A cancel_waybill push: the merchant cancels an order; the carrier answers with <see cref="Reply"/>.</summary>
public sealed class CancelWaybillEvent : CarrierOrderEvent
{

    /// <summary>The reply body: user names swapped, BizID, OrderID and WayBillID echoed, then the result.</summary>
    /// <param name="resultCode">0 cancelled; 30001 no such order; 30002 already picked up; 30003 invalid; 30004 not supported; -1 other.</param>
    /// <param name="resultMessage">Why, shown to the merchant.</param>
    /// <param name="timeProvider">The clock for CreateTime; the system clock when null.</param>
    /// <returns>The body to answer the push with.</returns>
    public string Reply(int resultCode, string resultMessage, TimeProvider? timeProvider = null) =>
        ReplyBody(
            "cancel_waybill", timeProvider, ("BizID", BizId), ("OrderID", OrderId), ("WayBillID", WaybillId), ("ResultCode", resultCode), ("ResultMsg", resultMessage));
}

/// <summary>How a carrier answers an add_waybill push.</summary>
/// <param name="ResultCode">0 for success, or one of the documented codes (10001 … 20009, -1).</param>
/// <param name="ResultMessage">The reason, shown to the merchant.</param>
/// <param name="WaybillId">The waybill, on success.</param>
/// <param name="WaybillData">Label data in the form ##key##value##.</param>
public sealed record AddWaybillResult(int ResultCode, string ResultMessage, string? WaybillId = null, string? WaybillData = null)
{
    /// <summary>The order is taken with this waybill.</summary>
    /// <param name="waybillId">The waybill number.</param>
    /// <param name="waybillData">Label data, such as ##ZTO_bagAddr##广州##.</param>
    /// <returns>The result.</returns>
    public static AddWaybillResult Success(string waybillId, string? waybillData = null) => new(0, "成功", waybillId, waybillData);

    /// <summary>The order is refused.</summary>
    /// <param name="resultCode">Such as 10002 (客户密码不正确) or 20005 (收件地址不可达).</param>
    /// <param name="resultMessage">Why, shown to the merchant.</param>
    /// <returns>The result.</returns>
    public static AddWaybillResult Failure(int resultCode, string resultMessage) => new(resultCode, resultMessage);
}

/// <summary>An add_express_path push: a waybill's whole path so far. Keep the highest <paramref name="Version"/>.</summary>
/// <param name="Format">The form it came in.</param>
/// <param name="ToUserName">The merchant's account.</param>
/// <param name="FromUserName">The sender.</param>
/// <param name="CreateTime">When the push was made.</param>
/// <param name="DeliveryId">The carrier.</param>
/// <param name="WaybillId">The waybill.</param>
/// <param name="OrderId">The merchant's order id.</param>
/// <param name="Version">The path's version: it grows with every stored event, so a lower one is stale.</param>
/// <param name="Actions">The events, in time order.</param>
public sealed record AddExpressPathEvent(
    EventFormat Format,
    string ToUserName,
    string FromUserName,
    DateTimeOffset CreateTime,
    DeliveryId DeliveryId,
    WaybillId WaybillId,
    string OrderId,
    long Version,
    IReadOnlyList<PathItem> Actions);

/// <summary>Replies to pushes: XML with strings in CDATA, or JSON, in the form of the push.</summary>
static class EventReply
{
    public static string ContentType(EventFormat format) => format == EventFormat.Json ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";

    public static string Serialize(EventFormat format, (string Name, object Value)[] fields)
    {
        if (format == EventFormat.Json)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                foreach (var (name, value) in fields)
                {
                    if (value is string text)
                    {
                        json.WriteString(name, text);
                    }
                    else
                    {
                        json.WriteNumber(name, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    }
                }

                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        return new XElement("xml", fields.Select(f => new XElement(f.Name, f.Value is string text ? new XCData(text) : Convert.ToString(f.Value, CultureInfo.InvariantCulture))))
            .ToString(SaveOptions.DisableFormatting);
    }
}

/// <summary>The fields of a push, whichever its form: child elements of an XML message or properties of a JSON object.</summary>
abstract class EventFields
{
    public abstract EventFormat Format { get; }

    public static EventFields Parse(string body, string? expectedEvent)
    {
        ArgumentNullException.ThrowIfNull(body);
        var trimmed = body.TrimStart();
        EventFields message;
        try
        {
            message = trimmed.StartsWith('<')
                ? new XmlFields(XDocument.Parse(trimmed, LoadOptions.None).Root!)
                : ParseJsonObject(trimmed);
        }
        catch (Exception e) when (e is XmlException or JsonException)
        {
            throw new WxEventException($"the push is neither well-formed XML nor JSON: {e.Message}");
        }

        var actual = message.Text("Event");
        if (expectedEvent is not null && !actual.Equals(expectedEvent, StringComparison.OrdinalIgnoreCase))
        {
            throw new WxEventException($"the push is a '{actual}' event, not {expectedEvent}");
        }

        return message;
    }

    public abstract string Text(string name);

    static JsonFields ParseJsonObject(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? new JsonFields(document.RootElement.Clone())
            : throw new WxEventException("the push is not a JSON object");
    }

    public abstract EventFields? Child(string name);

    public abstract IEnumerable<EventFields> Children(string name);

    /// <summary>A whole-number field; 0 when the push leaves it out, and a <see cref="WxEventException"/> when it is something else.</summary>
    public long Integer(string name, long min = long.MinValue, long max = long.MaxValue)
    {
        var text = Text(name);
        if (text.Length == 0)
        {
            return 0;
        }

        // 1.0 and 1e3 are whole numbers too, as JSON writes them.
        var value = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) ? whole
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == Math.Floor(number)
                && number >= -9.2e18 && number <= 9.2e18 ? (long)number
            : throw new WxEventException($"the push's {name} is not a whole number: '{Shown(text)}'");
        return value >= min && value <= max ? value : throw new WxEventException($"the push's {name} is not from {min} to {max}: {value}");
    }

    /// <summary>A whole-number field the push must give (the version of a path push).</summary>
    public long RequiredInteger(string name, long min)
    {
        Required(name);
        return Integer(name, min);
    }

    /// <summary>A whole-number field that C# holds as an int (a count, a service type).</summary>
    public int Int32(string name) => (int)Integer(name, int.MinValue, int.MaxValue);

    /// <summary>A time field, in seconds since 1970.</summary>
    public DateTimeOffset Time(string name) => DateTimeOffset.FromUnixTimeSeconds(Integer(name, 0, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));

    /// <summary>A number field (a weight, a size); 0 when the push leaves it out.</summary>
    public double Decimal(string name)
    {
        var text = Text(name);
        return text.Length == 0 ? 0
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value
            : throw new WxEventException($"the push's {name} is not a number: '{Shown(text)}'");
    }

    /// <summary>A text field the push must give (the waybill of a path push): a push without it is no such event.</summary>
    public string Required(string name) =>
        Text(name) is { Length: > 0 } text ? text : throw new WxEventException($"the push has no {name}");

    static string Shown(string text) => text.Length <= 64 ? text : text[..64] + "…";

    sealed class XmlFields(XElement element) : EventFields
    {
        public override EventFormat Format => EventFormat.Xml;

        public override string Text(string name) => element.Element(name)?.Value ?? "";

        public override EventFields? Child(string name) => element.Element(name) is { } child ? new XmlFields(child) : null;

        public override IEnumerable<EventFields> Children(string name) => element.Elements(name).Select(e => new XmlFields(e));
    }

    sealed class JsonFields(JsonElement element) : EventFields
    {
        public override EventFormat Format => EventFormat.Json;

        public override string Text(string name)
        {
            if (!element.TryGetProperty(name, out var value))
            {
                return "";
            }

            try
            {
                return value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString()!,
                    JsonValueKind.Number => value.GetRawText(),
                    _ => "",
                };
            }
            catch (InvalidOperationException)
            {
                // Valid JSON that no string can hold: a \u escape of a surrogate without its pair.
                throw new WxEventException($"the push's {name} holds a \\u escape of half a character (a surrogate without its pair)");
            }
        }

        public override EventFields? Child(string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? new JsonFields(value) : null;

        public override IEnumerable<EventFields> Children(string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
                ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Object).Select(v => new JsonFields(v))
                : [];
    }
}
