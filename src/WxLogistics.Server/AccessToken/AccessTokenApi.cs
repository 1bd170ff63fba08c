using System.Text.Json;
using WxLogistics.Operability;
using WxLogistics.Wire;

namespace WxLogistics.AccessToken;

public static class AccessTokenApi
{
    const int MaxStableTokenBody = 4096;

    public static IEndpointRouteBuilder MapAccessToken(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/cgi-bin/token", ["GET", "POST"], GetTokenAsync)
            .WithSummary("access_token: a new token for an app (7200 s; earlier ones keep working 300 s more)")
            .WithDescription("Query: grant_type=client_credential, appid, secret. Answers {access_token, expires_in}. Errors: 40002 invalid grant_type, " +
                "41002 appid missing, 41004 appsecret missing, 40013 invalid appid, 40125 invalid appsecret, 45009 more than 2000 a day.")
            .Produces<ApiBodies.IssuedToken>(StatusCodes.Status200OK, "application/json");
        app.MapMethods("/cgi-bin/stable_token", WxGateway.OtherMethods, GetStableTokenAsync).ExcludeFromDescription();
        app.MapPost("/cgi-bin/stable_token", GetStableTokenAsync)
            .WithSummary("stable_token: the same token while it is fresh; force_refresh replaces it")
            .WithDescription("POST JSON: grant_type, appid, secret, force_refresh. Answers {access_token, expires_in}. Errors as /cgi-bin/token, " +
                "plus 43002 require POST method, 44002 empty post data, 47001 data format error, 45009 more than 20 force_refresh a day.")
            .DocumentsJsonBody(typeof(ApiBodies.StableToken))
            .Produces<ApiBodies.IssuedToken>(StatusCodes.Status200OK, "application/json");
        return app;
    }

    static async Task<IResult> GetTokenAsync(HttpRequest request, AccessTokens tokens, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var reply = await tokens.IssueAsync(query["grant_type"].FirstOrDefault(), query["appid"].FirstOrDefault(), query["secret"].FirstOrDefault(), cancellationToken);
        return reply.ToHttpResult();
    }

    static async Task<IResult> GetStableTokenAsync(HttpRequest request, AccessTokens tokens, CancellationToken cancellationToken)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return WxReply.Error(WxErrors.RequirePost).ToHttpResult();
        }

        var (body, error) = await WxBody.ReadAsync(request, MaxStableTokenBody, cancellationToken);
        if (body is null)
        {
            return error!.ToHttpResult();
        }

        if (!TryParse(body, out var stableRequest, out var problem))
        {
            return WxReply.Error(WxErrors.DataFormatError, problem).ToHttpResult();
        }

        return (await tokens.IssueStableAsync(stableRequest, cancellationToken)).ToHttpResult();
    }

    static bool TryParse(byte[] body, out StableTokenRequest request, out string problem)
    {
        request = new StableTokenRequest(null, null, null, false);
        using var document = WireJson.ParseObject(body, out problem);
        if (document is null)
        {
            return false;
        }

        string? grantType = null, appId = null, secret = null;
        var force = false;
        foreach (var property in document.RootElement.EnumerateObject())
        {
            switch (property.Name)
            {
                case "grant_type" when property.Value.ValueKind == JsonValueKind.String:
                    grantType = property.Value.GetString();
                    break;
                case "appid" when property.Value.ValueKind == JsonValueKind.String:
                    appId = property.Value.GetString();
                    break;
                case "secret" when property.Value.ValueKind == JsonValueKind.String:
                    secret = property.Value.GetString();
                    break;
                case "force_refresh" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    force = property.Value.GetBoolean();
                    break;
                case "grant_type" or "appid" or "secret":
                    problem = $"{property.Name} must be a string";
                    return false;
                case "force_refresh":
                    problem = "force_refresh must be true or false";
                    return false;
            }
        }

        request = new StableTokenRequest(grantType, appId, secret, force);
        return true;
    }
}
