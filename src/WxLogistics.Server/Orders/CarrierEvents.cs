using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>
/// The events pushed to a carrier's message server (../shared/spec/wechat-logistics.md §2.1 to 2.4: add_waybill,
/// cancel_waybill, check_biz, get_quota), in XML or JSON, and the carrier's reply.
/// </summary>
public static class CarrierEvents
{
    /// <summary>The fields of the event: the platform's own, then the merchant's order as it came.</summary>
    public sealed record AddWaybill(string ToUserName, long CreateTime, string Token, string OrderId, string BizId, string ShopAppId, JsonElement Order);

    /// <summary>What a carrier answered.</summary>
    public sealed record Reply(string? Token, string? OrderId, string? BizId, string? WaybillId, int? ResultCode, string? ResultMsg, string? WaybillData)
    {
        /// <summary>get_quota's answer: the labels the account has left, as the carrier wrote it.</summary>
        public string? Quota { get; init; }
    }

    static readonly (string Json, string Wire)[] Party =
    [
        ("name", "Name"), ("tel", "Tel"), ("mobile", "Mobile"), ("company", "Company"), ("post_code", "PostCode"), ("country", "Country"),
        ("province", "Province"), ("city", "City"), ("area", "Area"), ("address", "Address"),
    ];

    public static byte[] Json(AddWaybill e) => Serialize(ToJsonObject(e), json: true);

    public static byte[] Xml(AddWaybill e) => Serialize(ToJsonObject(e), json: false);

    /// <summary>The cancel_waybill event (§2.2).</summary>
    public static JsonObject CancelWaybill(string toUserName, long createTime, string orderId, string bizId, string shopAppId, string waybillId) =>
        Event("cancel_waybill", toUserName, createTime, ("OrderID", orderId), ("BizID", bizId), ("BizPwd", ""), ("ShopAppID", shopAppId), ("WayBillID", waybillId));

    /// <summary>The check_biz event (§2.3): a merchant binds an account, which the carrier checks with its password.</summary>
    public static JsonObject CheckBiz(string toUserName, long createTime, string bizId, string password, string shopAppId) =>
        Event("check_biz", toUserName, createTime, ("BizID", bizId), ("BizPwd", password), ("ShopAppID", shopAppId));

    /// <summary>The get_quota event (§2.4): the balance of a merchant's account with the carrier.</summary>
    public static JsonObject GetQuota(string toUserName, long createTime, string bizId, string shopAppId) =>
        Event("get_quota", toUserName, createTime, ("BizID", bizId), ("BizPwd", ""), ("ShopAppID", shopAppId));

    /// <summary>An event pushed to the carrier <paramref name="toUserName"/>: the platform's header, then <paramref name="fields"/> in order.</summary>
    static JsonObject Event(string name, string toUserName, long createTime, params (string Name, JsonNode? Value)[] fields)
    {
        var message = new JsonObject
        {
            ["ToUserName"] = toUserName,
            ["FromUserName"] = "wxlogistics",
            ["CreateTime"] = createTime,
            ["MsgType"] = "event",
            ["Event"] = name,
        };
        foreach (var (field, value) in fields)
        {
            message[field] = value;
        }

        return message;
    }

    public static byte[] Serialize(JsonObject message, bool json) => json
        ? JsonSerializer.SerializeToUtf8Bytes(message, WireJson.Options)
        : Encoding.UTF8.GetBytes(ToXml(message, "xml").ToString(SaveOptions.DisableFormatting));

    static JsonObject ToJsonObject(AddWaybill e)
    {
        var order = e.Order;
        var message = Event(
            "add_waybill",
            e.ToUserName,
            e.CreateTime,
            ("Token", e.Token),
            ("OrderID", e.OrderId),
            ("BizID", e.BizId),
            ("BizPwd", ""),
            ("ShopAppID", e.ShopAppId),
            ("WayBillID", "0"),
            ("Remark", Text(order, "custom_remark")),
            ("Sender", PartyOf(order, "sender")),
            ("Receiver", PartyOf(order, "receiver")));

        if (order.TryGetProperty("cargo", out var cargo) && cargo.ValueKind == JsonValueKind.Object)
        {
            var details = new JsonArray();
            if (cargo.TryGetProperty("detail_list", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray())
                {
                    details.Add(new JsonObject { ["Name"] = Text(item, "name"), ["Count"] = Number(item, "count") });
                }
            }

            message["Cargo"] = new JsonObject
            {
                ["Weight"] = Number(cargo, "weight"),
                ["Space_X"] = Number(cargo, "space_x"),
                ["Space_Y"] = Number(cargo, "space_y"),
                ["Space_Z"] = Number(cargo, "space_z"),
                ["Count"] = Number(cargo, "count"),
                ["DetailList"] = details,
            };
        }

        if (order.TryGetProperty("insured", out var insured) && insured.ValueKind == JsonValueKind.Object)
        {
            message["Insured"] = new JsonObject { ["UseInsured"] = Number(insured, "use_insured"), ["InsuredValue"] = Number(insured, "insured_value") };
        }

        if (order.TryGetProperty("service", out var service) && service.ValueKind == JsonValueKind.Object)
        {
            message["Service"] = new JsonObject { ["ServiceType"] = Number(service, "service_type"), ["ServiceName"] = Text(service, "service_name") };
        }

        return message;
    }

    static JsonObject PartyOf(JsonElement order, string name)
    {
        var party = new JsonObject();
        var source = order.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : default;
        foreach (var (json, wire) in Party)
        {
            party[wire] = source.ValueKind == JsonValueKind.Object ? Text(source, json) : "";
        }

        return party;
    }

    static string Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    static JsonNode? Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? JsonValue.Create(value.GetDecimal())
            : JsonValue.Create(0);

    /// <summary>WeChat's XML form: strings in CDATA, numbers as text, arrays as repeated elements.</summary>
    static XElement ToXml(JsonNode? node, string name)
    {
        switch (node)
        {
            case JsonObject obj:
                var element = new XElement(name);
                foreach (var (key, child) in obj)
                {
                    if (child is JsonArray array)
                    {
                        foreach (var item in array)
                        {
                            element.Add(ToXml(item, key));
                        }
                    }
                    else
                    {
                        element.Add(ToXml(child, key));
                    }
                }

                return element;
            case JsonValue value when value.TryGetValue<string>(out var text):
                return new XElement(name, new XCData(text));
            default:
                return new XElement(name, Convert.ToString(node?.ToString(), CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Reads a carrier's reply in the carrier's format; null when it is neither well-formed XML nor JSON.</summary>
    public static Reply? ParseReply(string body, bool json)
    {
        try
        {
            if (json)
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                string? S(string n) => root.TryGetProperty(n, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;
                int? code = root.TryGetProperty("ResultCode", out var rc) && rc.ValueKind == JsonValueKind.Number && rc.TryGetInt32(out var c) ? c : null;
                return new Reply(S("Token"), S("OrderID"), S("BizID"), S("WayBillID"), code, S("ResultMsg"), S("WaybillData")) { Quota = S("Quota") };
            }

            var xml = XDocument.Parse(body).Root;
            if (xml is null)
            {
                return null;
            }

            string? X(string n) => xml.Element(n)?.Value;
            return new Reply(
                X("Token"), X("OrderID"), X("BizID"), X("WayBillID"), int.TryParse(X("ResultCode"), CultureInfo.InvariantCulture, out var result) ? result : null,
                X("ResultMsg"), X("WaybillData"))
            { Quota = X("Quota") };
        }
        catch (Exception e) when (e is JsonException or System.Xml.XmlException or InvalidOperationException)
        {
            // InvalidOperationException: a string whose \u escape is half of a character.
            return null;
        }
    }

    /// <summary>WaybillData "##key##value##key2##value2##" as [{key, value}].</summary>
    public static IReadOnlyList<WaybillDataItem> WaybillData(string? data)
    {
        var parts = (data ?? "").Split("##", StringSplitOptions.RemoveEmptyEntries);
        var items = new List<WaybillDataItem>();
        for (var i = 0; i + 1 < parts.Length; i += 2)
        {
            items.Add(new WaybillDataItem(parts[i], parts[i + 1]));
        }

        return items;
    }
}

public sealed record WaybillDataItem(string Key, string Value);
