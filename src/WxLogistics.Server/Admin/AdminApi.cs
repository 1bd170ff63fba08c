using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Operability;
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

        group.MapGet("/calls", ListCallsAsync).DocumentsQueryIntegers("errcode", "limit")
            .WithSummary("Admin: the call inspector (appid, waybill_id, errcode, rid, limit)")
            .WithDescription("Authorization: Bearer <admin key>. Answers {calls:[{at, api, waybill_id, errcode, reason, rid}]}, newest first; " +
                "with Accept: text/html, a table.");
        group.MapGet("/push", ListPushesAsync).DocumentsQueryIntegers("limit")
            .WithSummary("Admin: a merchant's recent pushes (merchant_appid, limit)")
            .WithDescription("Authorization: Bearer <admin key>. Answers {deliveries:[{delivery_id, waybill_id, version, delivered_version, status, attempts, next_attempt_at, last_error, updated_at}]}.");
        group.MapPost("/push/replay", ReplayPushesAsync)
            .WithSummary("Admin: send a merchant's parked pushes, or one waybill's, again")
            .WithDescription("Authorization: Bearer <admin key>. Body {merchant_appid, delivery_id?, waybill_id?}; answers {queued}.");
        return group;
    }

    static async Task<IResult> ListCallsAsync(
        HttpRequest request, string? appid, string? waybill_id, string? errcode, string? rid, string? limit, Store store, CancellationToken cancellationToken)
    {
        if (!AppId.TryParse(appid, out var app))
        {
            return Problem(StatusCodes.Status400BadRequest, "appid must be an AppID");
        }

        if (WholeNumber(nameof(errcode), errcode, int.MinValue, int.MaxValue, out var errcodeValue) is { } badErrcode)
        {
            return badErrcode;
        }

        if (WholeNumber(nameof(limit), limit, 1, CallInspector.KeepPerApp, out var limitValue) is { } badLimit)
        {
            return badLimit;
        }

        if (await store.FindAppAsync(app, cancellationToken) is null)
        {
            return Problem(StatusCodes.Status404NotFound, $"{app.Value} is not an app of this server");
        }

        var calls = (await store.ListCallsAsync(new CallFilter(app, waybill_id, errcodeValue, rid, limitValue ?? 100), cancellationToken))
            .Select(CallView.From).ToList();
        if (request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
        {
            var html = System.Text.Encodings.Web.HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);
            return Results.Content(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Calls of " + html.Encode(app.Value) + "</title></head><body><pre>"
                + html.Encode(CallView.Table(calls)) + "</pre></body></html>",
                "text/html; charset=utf-8");
        }

        return Results.Json(new CallList(calls), WireJson.Options);
    }

    static async Task<IResult> ListPushesAsync(string? merchant_appid, string? limit, Store store, CancellationToken cancellationToken)
    {
        if (!AppId.TryParse(merchant_appid, out var merchant))
        {
            return Problem(StatusCodes.Status400BadRequest, "merchant_appid must be an AppID");
        }

        if (WholeNumber(nameof(limit), limit, 1, 1000, out var limitValue) is { } badLimit)
        {
            return badLimit;
        }

        if (await NotAMerchantAsync(store, merchant, cancellationToken) is { } notMerchant)
        {
            return notMerchant;
        }

        var rows = await store.ListPushesAsync(merchant, limitValue ?? 50, cancellationToken);
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
            if (document.RootElement.ValueKind == JsonValueKind.Object && WireJson.BodyProblem(document.RootElement) is { } bodyProblem)
            {
                return Problem(StatusCodes.Status400BadRequest, bodyProblem);
            }

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

        if (await NotAMerchantAsync(store, merchant, cancellationToken) is { } notMerchant)
        {
            return notMerchant;
        }

        var queued = await store.ReplayPushesAsync(merchant, key, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        return Results.Json(new { queued });
    }

    /// <summary>A 404 for an appid that is no merchant of this server: an empty answer would look as if all were well.</summary>
    static async Task<IResult?> NotAMerchantAsync(Store store, AppId merchant, CancellationToken cancellationToken) =>
        await store.FindMerchantAsync(merchant, cancellationToken) is not null
            ? null
            : Problem(StatusCodes.Status404NotFound, $"{merchant.Value} is not a merchant app of this server");

    /// <summary>
    /// A query parameter as a whole number from min to max (null when absent), or a 400 naming it when it is something
    /// else: bound as int?, a value that is not a number failed the framework's binding and was answered as a system error.
    /// </summary>
    static IResult? WholeNumber(string name, string? text, int min, int max, out int? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
        {
            return Problem(StatusCodes.Status400BadRequest, $"{name} must be a whole number");
        }

        if (parsed < min || parsed > max)
        {
            return Problem(StatusCodes.Status400BadRequest, $"{name} must be from {min} to {max}");
        }

        value = parsed;
        return null;
    }

    static IResult Problem(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
