using System.Collections.Concurrent;
using WxLogistics.AccessToken;
using WxLogistics.Apps;
using WxLogistics.Operability;
using WxLogistics.Storage;

namespace WxLogistics.Wire;

/// <summary>An API of the platform: its cloud-call name, who may call it, and how large a body it takes.</summary>
public sealed record WxApi(string Name, AppRole Role, int MaxBodyBytes = 64 * 1024)
{
    /// <summary>A GET API without a body (getAllDelivery); the others are POST with a JSON body.</summary>
    public bool IsGet { get; init; }

    /// <summary>What the OpenAPI document says of it.</summary>
    public ApiDoc? Doc { get; init; }

    /// <summary>48001 when the caller is not the kind of app this API is for.</summary>
    public WxReply? Refuse(AppRecord caller) => caller.Role == Role
        ? null
        : WxReply.Error(WxErrors.ApiUnauthorized, $"{Name} is for {Role.ToString().ToLowerInvariant()} apps");
}

/// <summary>
/// Every API by its cloud-call name, so that the HTTPS routes and the cloud gateway run the very same handler.
/// Filled as the areas are mapped.
/// </summary>
public sealed class WxApiCatalog
{
    readonly ConcurrentDictionary<string, (WxApi Api, Func<IServiceProvider, WxCall, CancellationToken, Task<WxReply>> Handle)> apis = new(StringComparer.Ordinal);

    public void Add(WxApi api, Func<IServiceProvider, WxCall, CancellationToken, Task<WxReply>> handle) => apis[api.Name] = (api, handle);

    public WxApi? Find(string name) => apis.TryGetValue(name, out var entry) ? entry.Api : null;

    /// <summary>Every API mapped so far.</summary>
    public IEnumerable<WxApi> Apis => apis.Values.Select(entry => entry.Api);

    public async Task<WxReply> InvokeAsync(IServiceProvider services, WxApi api, AppRecord caller, byte[] body, CancellationToken cancellationToken) =>
        Refuse(services, api, caller) ?? await RunAsync(apis[api.Name].Handle, services, new WxCall(api, caller, body), cancellationToken);

    /// <summary>
    /// Whether the authenticated <paramref name="caller"/> may call <paramref name="api"/> now, HTTPS or cloud call: 48001
    /// for the wrong kind of app, 45011 or 45009 past the operator's minute or daily quota; null when it may.
    /// </summary>
    public static WxReply? Refuse(IServiceProvider services, WxApi api, AppRecord caller) =>
        api.Refuse(caller) ?? services.GetRequiredService<CallQuotas>().Take(caller.AppId, api.Name);

    /// <summary>
    /// Runs a handler, HTTPS or cloud call. A commit the store could not make is answered here as WeChat's system
    /// error, with its reason for the call inspector; the group commit has logged it (once, not per caller).
    /// </summary>
    public static async Task<WxReply> RunAsync(
        Func<IServiceProvider, WxCall, CancellationToken, Task<WxReply>> handle, IServiceProvider services, WxCall call, CancellationToken cancellationToken)
    {
        try
        {
            return await handle(services, call, cancellationToken);
        }
        catch (CommitFailedException e)
        {
            return WxReply.ErrorForOperator(WxErrors.SystemError, e.Message);
        }
    }
}

/// <summary>An authenticated call of an API: the caller and the JSON body, whichever form it came in.</summary>
public sealed record WxCall(WxApi Api, AppRecord Caller, byte[] Body);

/// <summary>
/// The gateway in front of every access_token API, applied once on the route group: the WeChat checks that come
/// before any API logic, in WeChat's order (41001, 40001, 42001, 48001, 45011, 45009, 43002, 44002).
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
            var (refusal, caller) = await AcceptAsync(http, api);
            if (refusal is not null)
            {
                http.RequestServices.GetRequiredService<WxMetrics>().Call(api.Name, refusal.ErrCode);
                if (caller is not null)
                {
                    http.RequestServices.GetRequiredService<CallInspector>().Record(api, caller, null, refusal);
                }

                return refusal.ToHttpResult();
            }

            return await next(context);
        });
        return group;
    }

    /// <summary>The gateway's checks; null when the call may go on, with the WxCall in the request's items.</summary>
    static async Task<(WxReply? Refusal, AppRecord? Caller)> AcceptAsync(HttpContext http, WxApi api)
    {
        var tokens = http.RequestServices.GetRequiredService<AccessTokens>();
        var (caller, error) = await tokens.AuthenticateAsync(http.Request.Query["access_token"].FirstOrDefault(), http.RequestAborted);
        if (caller is null)
        {
            return (error!, null);
        }

        if (WxApiCatalog.Refuse(http.RequestServices, api, caller) is { } refusal)
        {
            return (refusal, caller);
        }

        if (api.IsGet)
        {
            http.Items[CallKey] = new WxCall(api, caller, []);
            return (null, caller);
        }

        if (!HttpMethods.IsPost(http.Request.Method))
        {
            return (WxReply.Error(WxErrors.RequirePost), caller);
        }

        var (body, bodyError) = await WxBody.ReadAsync(http.Request, api.MaxBodyBytes, http.RequestAborted);
        if (body is null)
        {
            return (bodyError!, caller);
        }

        http.Items[CallKey] = new WxCall(api, caller, body);
        return (null, caller);
    }

    const string GatewayCodes =
        "\n\nPOST only, with `?access_token=`. Gateway errors first: 41001 access_token missing, 40001 invalid credential, " +
        "42001 access_token expired, 48001 api unauthorized (wrong kind of app), 45011 api minute-quota and 45009 daily quota (when the operator sets them), " +
        "43002 require POST method, 44002 empty post data, " +
        "9300526 body too large, 47001 data format error. Every answer is HTTP 200; errors are {errcode, errmsg} with the rid.";

    public static readonly string[] OtherMethods = ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    /// <summary>Maps an API of the group for every method, so that a GET gets WeChat's 43002 rather than a 405.</summary>
    public static RouteHandlerBuilder MapWxApi<THandler>(
        this RouteGroupBuilder group, string pattern, WxApi api, Func<THandler, WxCall, CancellationToken, Task<WxReply>> handle)
        where THandler : notnull =>
        group.MapWxApi(pattern, api, (services, call, ct) => handle(services.GetRequiredService<THandler>(), call, ct));

    // Not generic, so that the request delegate generator builds its endpoints when the server is compiled rather
    // than when the first request arrives (it skips endpoints whose delegates name a type parameter).
    static RouteHandlerBuilder MapWxApi(
        this RouteGroupBuilder group, string pattern, WxApi api, Func<IServiceProvider, WxCall, CancellationToken, Task<WxReply>> invoke)
    {
        ((IEndpointRouteBuilder)group).ServiceProvider.GetRequiredService<WxApiCatalog>().Add(api, invoke);
        async Task<IResult> Run(HttpContext http, WxMetrics metrics, CallInspector inspector, CancellationToken cancellationToken)
        {
            var call = (WxCall)http.Items[CallKey]!;
            var reply = await WxApiCatalog.RunAsync(invoke, http.RequestServices, call, cancellationToken);
            metrics.Call(api.Name, reply.ErrCode);
            inspector.Record(api, call.Caller, call.Body, reply);
            return reply.ToHttpResult();
        }

        // Other methods reach the gateway too, which answers them 43002; only POST is documented.
        group.MapMethods(pattern, api.IsGet ? ["POST", .. OtherMethods[1..]] : OtherMethods, Run).WithMetadata(api).ExcludeFromDescription();
        var endpoint = (api.IsGet ? group.MapGet(pattern, Run) : group.MapPost(pattern, Run)).WithMetadata(api).WithName(api.Name);
        if (api.Doc is { } doc)
        {
            endpoint.WithSummary(doc.Summary)
                .WithDescription(doc.Description + GatewayCodes)
                .Produces(StatusCodes.Status200OK, doc.Response, "application/json");
            if (!api.IsGet)
            {
                endpoint.DocumentsJsonBody(doc.Request);
            }
        }

        return endpoint;
    }
}
