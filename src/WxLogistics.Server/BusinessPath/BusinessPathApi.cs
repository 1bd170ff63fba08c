using WxLogistics.Wire;

namespace WxLogistics.BusinessPath;

/// <summary>The merchant side (小程序使用): /cgi-bin/express/business/…</summary>
public static class BusinessPathApi
{
    public static RouteGroupBuilder MapBusinessPath(this IEndpointRouteBuilder app)
    {
        var group = app.MapWxApiGroup("/cgi-bin/express/business");
        group.MapWxApi<PathQueries>("/path/get", PathQueries.Api, (queries, call, ct) => queries.GetAsync(call, ct));
        return group;
    }
}
