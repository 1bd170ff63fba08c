using System.Buffers;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.BusinessPath;

/// <summary>logistics.getPath: a merchant reads the path of a waybill of its own order; anything else is 40199.</summary>
public sealed class PathQueries(Store store, DeliveryPath.WaybillTokens waybills)
{
    public static readonly WxApi Api = new("logistics.getPath", AppRole.Merchant, 16 * 1024)
    {
        Doc = new(
            "getPath (查询运单轨迹): a merchant reads the path of a waybill of its order",
            "Merchant access_token. Body: delivery_id, waybill_id (required), order_id and openid (optional; when sent they must be the order's). " +
            "Answers {openid, delivery_id, waybill_id, path_item_num, path_item_list[{action_time, action_type, action_msg}]} sorted by " +
            "action_time, then arrival. Errors: 40097 delivery_id or waybill_id missing, 40199 waybill_id not found (also another merchant's).",
            typeof(Operability.ApiBodies.GetPath),
            typeof(GetPathResponse)),
    };

    public async Task<WxReply> GetAsync(WxCall call, CancellationToken cancellationToken)
    {
        if (!TryParse(call.Body, out var request, out var problem))
        {
            return WxReply.Error(WxErrors.DataFormatError, problem);
        }

        if (string.IsNullOrEmpty(request.DeliveryId))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "delivery_id is required");
        }

        if (string.IsNullOrEmpty(request.WaybillId))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "waybill_id is required");
        }

        if (!DeliveryId.TryParse(request.DeliveryId, out var deliveryId)
            || !WaybillId.TryParse(request.WaybillId, out var waybillId)
            || await waybills.FindAsync(new WaybillKey(deliveryId, waybillId), cancellationToken) is not { } waybill
            || waybill.MerchantAppId != call.Caller.AppId)
        {
            return WxReply.Error(WxErrors.WaybillNotFound);
        }

        // Optional in the current docs; when sent, they must name this waybill's order.
        if (!string.IsNullOrEmpty(request.OrderId) && request.OrderId != waybill.OrderId)
        {
            return WxReply.Error(WxErrors.WaybillNotFound, "order_id does not match the waybill");
        }

        if (!string.IsNullOrEmpty(request.OpenId) && request.OpenId != waybill.OpenId)
        {
            return WxReply.Error(WxErrors.WaybillNotFound, "openid does not match the waybill");
        }

        var path = await store.ReadPathJsonAsync(waybill.Key, cancellationToken);
        return WxReply.SuccessJson(Answer(waybill.OpenId ?? request.OpenId ?? "", deliveryId.Value, waybillId.Value, path));
    }

    /// <summary>
    /// The answer, as <see cref="GetPathResponse"/> serializes with the wire's settings, around the path's JSON as the
    /// store gives it (kept in memory for a path read often).
    /// </summary>
    static byte[] Answer(string openId, string deliveryId, string waybillId, PathJson path)
    {
        var buffer = new ArrayBufferWriter<byte>(path.Utf8.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("openid"u8, openId);
            writer.WriteString("delivery_id"u8, deliveryId);
            writer.WriteString("waybill_id"u8, waybillId);
            writer.WriteNumber("path_item_num"u8, path.Count);
            writer.WritePropertyName("path_item_list"u8);
            writer.WriteRawValue(path.Utf8, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The four fields getPath reads, read in one pass over the body (as updatePath's are); any other field is skipped.
    /// One of them sent twice is refused, as updatePath refuses it.
    /// </summary>
    static bool TryParse(byte[] body, out GetPathRequest request, out string problem)
    {
        request = new GetPathRequest(null, null, null, null);
        string? orderId = null, openId = null, deliveryId = null, waybillId = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "the body must be a JSON object";
                return false;
            }

            var sent = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueTextEquals("order_id"u8) ? "order_id"
                    : reader.ValueTextEquals("openid"u8) ? "openid"
                    : reader.ValueTextEquals("delivery_id"u8) ? "delivery_id"
                    : reader.ValueTextEquals("waybill_id"u8) ? "waybill_id"
                    : null;
                reader.Read();
                if (name is null)
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                {
                    problem = $"{name} must be a string";
                    return false;
                }

                var bit = name switch { "order_id" => 1, "openid" => 2, "delivery_id" => 4, _ => 8 };
                if ((sent & bit) != 0)
                {
                    problem = $"{name} is sent twice";
                    return false;
                }

                sent |= bit;
                switch (name)
                {
                    case "order_id":
                        orderId = reader.GetString();
                        break;
                    case "openid":
                        openId = reader.GetString();
                        break;
                    case "delivery_id":
                        deliveryId = reader.GetString();
                        break;
                    default:
                        waybillId = reader.GetString();
                        break;
                }
            }

            // Nothing may follow the object.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                problem = "the body is not valid JSON";
                return false;
            }

            request = new GetPathRequest(orderId, openId, deliveryId, waybillId);
            problem = "";
            return true;
        }
        catch (JsonException)
        {
            problem = "the body is not valid JSON";
            return false;
        }
        catch (InvalidOperationException)
        {
            // Bytes that are not UTF-8, or an escape of half a character in valid UTF-8.
            problem = System.Text.Unicode.Utf8.IsValid(body) ? $"a field {WireJson.HalfCharacter}" : "the body holds text that is not valid UTF-8";
            return false;
        }
    }

    sealed record GetPathRequest(string? OrderId, string? OpenId, string? DeliveryId, string? WaybillId);
}

/// <summary>getPath's answer, as documented; <see cref="PathQueries"/> writes it field by field in this order.</summary>
public sealed record GetPathResponse(string Openid, string DeliveryId, string WaybillId, int PathItemNum, IReadOnlyList<PathItem> PathItemList);

public sealed record PathItem(long ActionTime, int ActionType, string ActionMsg);
