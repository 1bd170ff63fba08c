using System.Text.Json;
using Microsoft.Extensions.Options;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Tracking;

/// <summary>
/// Our extension, beside getPath: a merchant asks for a tracking-page link to a waybill of its own order.
/// Body {delivery_id, waybill_id, ttl_seconds?}; answer {path, url?, expires_at}.
/// </summary>
public sealed class TrackingLinkRequests(Store store, TrackingLinks links, IOptions<WxLogisticsOptions> options)
{
    public static readonly WxApi Api = new("logistics.getTrackingLink", AppRole.Merchant, 4 * 1024)
    {
        Doc = new(
            "Tracking-page link (our extension): a signed, expiring link to a waybill's 快递轨迹详情页",
            "Merchant access_token. Body: delivery_id, waybill_id, ttl_seconds (60 to 7776000; default 7 days). Answers {path, url?, expires_at}. " +
            "Errors: 40199 not a waybill of the merchant's orders, 40097 ttl_seconds out of range.",
            typeof(Operability.ApiBodies.TrackingLink),
            typeof(TrackingLinkResponse)),
    };

    public async Task<WxReply> CreateAsync(WxCall call, CancellationToken cancellationToken)
    {
        string? deliveryText = null, waybillText = null;
        long? ttl = null;
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Name, property.Value.ValueKind)
                {
                    case ("delivery_id", JsonValueKind.String):
                        deliveryText = property.Value.GetString();
                        break;
                    case ("waybill_id", JsonValueKind.String):
                        waybillText = property.Value.GetString();
                        break;
                    case ("ttl_seconds", JsonValueKind.Number) when property.Value.TryGetInt64(out var seconds):
                        ttl = seconds;
                        break;
                    case ("delivery_id" or "waybill_id", _):
                        return WxReply.Error(WxErrors.DataFormatError, $"{property.Name} must be a string");
                    case ("ttl_seconds", _):
                        return WxReply.Error(WxErrors.DataFormatError, "ttl_seconds must be an integer");
                }
            }
        }

        if (ttl is { } requested && (requested < 60 || requested > TrackingLinks.MaxLifetime.TotalSeconds))
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"ttl_seconds must be from 60 to {TrackingLinks.MaxLifetime.TotalSeconds:0}");
        }

        if (!DeliveryId.TryParse(deliveryText, out var deliveryId)
            || !WaybillId.TryParse(waybillText, out var waybillId)
            || await store.FindWaybillAsync(new WaybillKey(deliveryId, waybillId), cancellationToken) is not { } waybill
            || waybill.MerchantAppId != call.Caller.AppId)
        {
            return WxReply.Error(WxErrors.WaybillNotFound);
        }

        var (path, expiresAt) = links.Create(waybill.Key, ttl is { } s ? TimeSpan.FromSeconds(s) : TrackingLinks.DefaultLifetime);
        var baseUrl = options.Value.PublicBaseUrl?.TrimEnd('/');
        return WxReply.Success(new TrackingLinkResponse(path, baseUrl is null ? null : baseUrl + path, expiresAt.ToUnixTimeSeconds()));
    }
}

public sealed record TrackingLinkResponse(
    string Path,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Url,
    long ExpiresAt);
