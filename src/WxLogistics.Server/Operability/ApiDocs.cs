using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace WxLogistics.Operability;

/// <summary>The documented shape of an API for the OpenAPI document: its body, its answer, and its error codes.</summary>
public sealed record ApiDoc(string Summary, string Description, Type Request, Type Response);

/// <summary>
/// The JSON body of a POST endpoint, for the OpenAPI document only. WeChat reads a body as JSON whatever Content-Type
/// the client labels it with (curl -d says a form, many clients say nothing), so the routes must not match on it, as
/// <c>Accepts</c> metadata would make them do: with it, a body not labelled JSON found no route and got 40066.
/// </summary>
public sealed record JsonBodyDoc(Type Request);

public static class JsonBodyDocs
{
    public static TBuilder DocumentsJsonBody<TBuilder>(this TBuilder endpoint, Type request)
        where TBuilder : IEndpointConventionBuilder => endpoint.WithMetadata(new JsonBodyDoc(request));

    /// <summary>Writes each <see cref="JsonBodyDoc"/> into its operation as an application/json request body.</summary>
    public static OpenApiOptions AddJsonBodies(this OpenApiOptions options) => options.AddOperationTransformer(async (operation, context, cancellationToken) =>
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBodyDoc>().LastOrDefault() is not { } body
            || context.Document is not { } document)
        {
            return;
        }

        // Under components/schemas by the type's name, referred to from the operation, as the framework does for the
        // types it finds itself.
        var id = body.Request.Name;
        document.AddComponent(id, await context.GetOrCreateSchemaAsync(body.Request, null, cancellationToken));
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = new OpenApiSchemaReference(id, document) },
            },
        };
    });
}

/// <summary>
/// Query parameters that the endpoint reads as strings and parses itself, so that a value that is not a number gets
/// the endpoint's own answer rather than the framework's binding failure; the document still says they are integers.
/// </summary>
public sealed record QueryIntegersDoc(params string[] Names);

public static class QueryIntegersDocs
{
    public static TBuilder DocumentsQueryIntegers<TBuilder>(this TBuilder endpoint, params string[] names)
        where TBuilder : IEndpointConventionBuilder => endpoint.WithMetadata(new QueryIntegersDoc(names));

    public static OpenApiOptions AddQueryIntegers(this OpenApiOptions options) => options.AddOperationTransformer((operation, context, _) =>
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<QueryIntegersDoc>().LastOrDefault() is { } integers)
        {
            foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>().Where(p => integers.Names.Contains(p.Name)))
            {
                parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" };
            }
        }

        return Task.CompletedTask;
    });
}

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
