namespace WxLogistics.CloudGateway;

/// <summary>The cloud gateway: the URL that TCB_CONTEXT_CNFG points wx-server-sdk at.</summary>
public static class CloudGatewayApi
{
    /// <summary>The path after the server's base URL; `cloudenv add` prints it as gateway_path.</summary>
    public const string Path = "/tcb/admin";

    public static IEndpointRouteBuilder MapCloudGateway(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, (HttpContext http, CloudCalls calls) => calls.HandleAsync(http));
        return app;
    }
}
