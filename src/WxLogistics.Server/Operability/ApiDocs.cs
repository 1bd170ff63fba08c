namespace WxLogistics.Operability;

/// <summary>The documented shape of an API for the OpenAPI document: its body, its answer, and its error codes.</summary>
public sealed record ApiDoc(string Summary, string Description, Type Request, Type Response);

/// <summary>The bodies of the WeChat APIs, for the OpenAPI document (snake_case, as on the wire).</summary>
public static class ApiBodies
{
    public sealed record UpdatePath(string Token, string WaybillId, long ActionTime, int ActionType, string ActionMsg);

    public sealed record GetPath(string? OrderId, string? Openid, string DeliveryId, string WaybillId);

    public sealed record TrackingLink(string DeliveryId, string WaybillId, long? TtlSeconds);

    public sealed record StableToken(string GrantType, string Appid, string Secret, bool? ForceRefresh);

    /// <summary>Every error, and the success of a write: HTTP 200 with errcode and errmsg ("ok", or a reason and the rid).</summary>
    public sealed record Envelope(int Errcode, string Errmsg);

    public sealed record IssuedToken(string AccessToken, int ExpiresIn);
}
