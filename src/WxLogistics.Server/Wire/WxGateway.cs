using WxLogistics.AccessToken;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Wire;

/// <summary>An API of the platform: its cloud-call name, who may call it, and how large a body it takes.</summary>
public sealed record WxApi(string Name, AppRole Role, int MaxBodyBytes = 64 * 1024);

/// <summary>An authenticated call of an API: the caller and the JSON body, whichever form it came in.</summary>
public sealed record WxCall(WxApi Api, AppRecord Caller, byte[] Body);

/// <summary>
/// The gateway in front of every access_token API, applied once on the route group: the WeChat checks that come
/// before any API logic, in WeChat's order (41001, 40001, 42001, 48001, 43002, 44002).
/// </summary>
public static class WxGateway
{
    const string CallKey = "wx.call";

    public static RouteGroupBuilder MapWxApiGroup(this IEndpointRouteBuilder app, string prefix)
    {
        var group = app.MapGroup(prefix);
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var api = http.GetEndpoint()?.Metadata.GetMetadata<WxApi>()
                ?? throw new InvalidOperationException($"{http.Request.Path} is mapped without its WxApi");
            var tokens = http.RequestServices.GetRequiredService<AccessTokens>();
            var (caller, error) = await tokens.AuthenticateAsync(http.Request.Query["access_token"].FirstOrDefault(), http.RequestAborted);
            if (caller is null)
            {
                return error!.ToHttpResult();
            }

            if (caller.Role != api.Role)
            {
                return WxReply.Error(WxErrors.ApiUnauthorized, $"{api.Name} is for {api.Role.ToString().ToLowerInvariant()} apps").ToHttpResult();
            }

            if (!HttpMethods.IsPost(http.Request.Method))
            {
                return WxReply.Error(WxErrors.RequirePost).ToHttpResult();
            }

            var (body, bodyError) = await WxBody.ReadAsync(http.Request, api.MaxBodyBytes, http.RequestAborted);
            if (body is null)
            {
                return bodyError!.ToHttpResult();
            }

            http.Items[CallKey] = new WxCall(api, caller, body);
            return await next(context);
        });
        return group;
    }

    /// <summary>Maps an API of the group for every method, so that a GET gets WeChat's 43002 rather than a 405.</summary>
    public static RouteHandlerBuilder MapWxApi<THandler>(
        this RouteGroupBuilder group, string pattern, WxApi api, Func<THandler, WxCall, CancellationToken, Task<WxReply>> handle)
        where THandler : notnull =>
        group.Map(pattern, async (HttpContext http, THandler handler, CancellationToken cancellationToken) =>
                (await handle(handler, (WxCall)http.Items[CallKey]!, cancellationToken)).ToHttpResult())
            .WithMetadata(api);
}
