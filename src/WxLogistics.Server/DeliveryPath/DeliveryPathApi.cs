using WxLogistics.Wire;

namespace WxLogistics.DeliveryPath;

/// <summary>The carrier side (运力方): /cgi-bin/express/delivery/…</summary>
public static class DeliveryPathApi
{
    public static RouteGroupBuilder MapDeliveryPath(this IEndpointRouteBuilder app)
    {
        var group = app.MapWxApiGroup("/cgi-bin/express/delivery");
        group.MapWxApi<PathUpdates>("/path/update", PathUpdates.Api, (updates, call, ct) => updates.UpdateAsync(call, ct));
        return group;
    }
}
