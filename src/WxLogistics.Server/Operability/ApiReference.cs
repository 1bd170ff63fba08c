using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Metadata;

namespace WxLogistics.Operability;

/// <summary>
/// /reference: a plain, browsable page of every documented endpoint (method, path, summary, description), made from
/// the same metadata as the OpenAPI document at /openapi/v1.json. No script, no external asset.
/// </summary>
public static class ApiReference
{
    static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    public static IEndpointRouteBuilder MapApiReference(this IEndpointRouteBuilder app)
    {
        app.MapGet("/reference", (EndpointDataSource endpoints) =>
        {
            var page = new StringBuilder("""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
                <title>WxLogistics API reference</title><style>
                body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:0 auto;padding:16px;color:#1f2329}
                section{border-top:1px solid #e5e6eb;padding:12px 0}code{background:#f2f3f5;padding:1px 4px;border-radius:4px}
                .method{font-weight:700;color:#07c160}</style></head><body>
                <h1>WxLogistics API reference</h1>
                <p>The machine-readable document is <a href="/openapi/v1.json">/openapi/v1.json</a>. Errors and limits: docs/errors.md.</p>
                """);
            foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>()
                .Where(e => e.Metadata.GetMetadata<IEndpointSummaryMetadata>() is not null)
                .OrderBy(e => e.RoutePattern.RawText, StringComparer.Ordinal))
            {
                var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } m ? string.Join(" ", m) : "POST";
                page.Append("<section><p><span class=\"method\">").Append(Html.Encode(methods)).Append("</span> <code>")
                    .Append(Html.Encode(endpoint.RoutePattern.RawText ?? "")).Append("</code></p><p><strong>")
                    .Append(Html.Encode(endpoint.Metadata.GetMetadata<IEndpointSummaryMetadata>()!.Summary)).Append("</strong></p><p>")
                    .Append(Html.Encode(endpoint.Metadata.GetMetadata<IEndpointDescriptionMetadata>()?.Description ?? "")).Append("</p></section>");
            }

            page.Append("</body></html>");
            return Results.Content(page.ToString(), "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        return app;
    }
}
