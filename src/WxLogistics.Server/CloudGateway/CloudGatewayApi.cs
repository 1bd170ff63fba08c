namespace WxLogistics.CloudGateway;

/// <summary>The cloud gateway: the URL that TCB_CONTEXT_CNFG points wx-server-sdk at.</summary>
public static class CloudGatewayApi
{
    /// <summary>The path after the server's base URL; `cloudenv add` prints it as gateway_path.</summary>
    public const string Path = "/tcb/admin";

    public static IEndpointRouteBuilder MapCloudGateway(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, (HttpContext http, CloudCalls calls) => calls.HandleAsync(http))
            .WithSummary("Cloud gateway: wx-server-sdk's cloud.openapi.* calls (TCB protocol)")
            .WithDescription("Signed (TC3-HMAC-SHA256) multipart/form-data with action=wx.openApi, apiName and a protobuf CommApiData requestData; " +
                "answers a protobuf CommOpenApiResp whose respData is the API's WeChat JSON. Refusals: -604101 no permission, -604100 no such API, " +
                "TCB errors INVALIID_ENV (-501005), INVALID_COMMON_PARAM (-501006, signature), INVALID_PARAM (-501007).");
        return app;
    }
}
