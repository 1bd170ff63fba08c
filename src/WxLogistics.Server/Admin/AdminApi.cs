using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Push;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Admin;

/// <summary>Operator endpoints under /admin, off the WeChat paths, each behind the admin key.</summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin");
        group.AddEndpointFilter(async (context, next) =>
        {
            var key = context.HttpContext.RequestServices.GetRequiredService<AdminKey>();
            return key.Matches(context.HttpContext.Request.Headers.Authorization.FirstOrDefault())
                ? await next(context)
                : Problem(StatusCodes.Status401Unauthorized, "the admin key is required: Authorization: Bearer <key> (WxLogistics:AdminKey, or admin.key in the data directory)");
        });

        group.MapGet("/push", ListPushesAsync);
        group.MapPost("/push/replay", ReplayPushesAsync);
        return group;
    }

    static async Task<IResult> ListPushesAsync(string? merchant_appid, int? limit, Store store, CancellationToken cancellationToken)
    {
        if (!AppId.TryParse(merchant_appid, out var merchant))
        {
            return Problem(StatusCodes.Status400BadRequest, "merchant_appid must be an AppID");
        }

        if (limit is < 1 or > 1000)
        {
            return Problem(StatusCodes.Status400BadRequest, "limit must be from 1 to 1000");
        }

        var rows = await store.ListPushesAsync(merchant, limit ?? 50, cancellationToken);
        return Results.Json(new PushDeliveryList(rows.Select(PushDeliveryView.From).ToList()), WireJson.Options);
    }

    static async Task<IResult> ReplayPushesAsync(HttpRequest request, Store store, TimeProvider time, CancellationToken cancellationToken)
    {
        var (body, error) = await WxBody.ReadAsync(request, 4096, cancellationToken);
        if (body is null)
        {
            return Problem(StatusCodes.Status400BadRequest, error!.Reason ?? "empty body");
        }

        string? merchantText = null, deliveryText = null, waybillText = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
                switch (property.Name)
                {
                    case "merchant_appid": merchantText = value; break;
                    case "delivery_id": deliveryText = value; break;
                    case "waybill_id": waybillText = value; break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Problem(StatusCodes.Status400BadRequest, "the body must be a JSON object {merchant_appid, delivery_id?, waybill_id?}");
        }

        if (!AppId.TryParse(merchantText, out var merchant))
        {
            return Problem(StatusCodes.Status400BadRequest, "merchant_appid must be an AppID");
        }

        WaybillKey? key = null;
        if (deliveryText is not null || waybillText is not null)
        {
            if (!DeliveryId.TryParse(deliveryText, out var d) || !WaybillId.TryParse(waybillText, out var w))
            {
                return Problem(StatusCodes.Status400BadRequest, "delivery_id and waybill_id go together");
            }

            key = new WaybillKey(d, w);
        }

        var queued = await store.ReplayPushesAsync(merchant, key, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        return Results.Json(new { queued });
    }

    static IResult Problem(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
