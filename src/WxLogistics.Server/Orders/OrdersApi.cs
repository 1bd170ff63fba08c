using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>The order APIs: addOrder, cancelOrder, getOrder, batchGetOrder, getQuota, bindAccount, getAllAccount, getAllDelivery, testUpdateOrder; getContact for carriers.</summary>
public static class OrdersApi
{
    public static readonly WxApi GetAllDeliveryApi = new("logistics.getAllDelivery", AppRole.Merchant) { IsGet = true };

    public static RouteGroupBuilder MapOrders(this IEndpointRouteBuilder app)
    {
        var group = app.MapWxApiGroup("/cgi-bin/express/business");
        group.MapWxApi<OrderPlacement>("/order/add", OrderPlacement.AddOrderApi, (orders, call, ct) => orders.AddAsync(call, ct));
        group.MapWxApi<OrderPlacement>("/test_update_order", OrderPlacement.TestUpdateOrderApi, (orders, call, ct) => orders.TestUpdateAsync(call, ct));
        group.MapWxApi<OrderQueries>("/order/cancel", OrderQueries.CancelOrderApi, (orders, call, ct) => orders.CancelAsync(call, ct));
        group.MapWxApi<OrderQueries>("/order/get", OrderQueries.GetOrderApi, (orders, call, ct) => orders.GetAsync(call, ct));
        group.MapWxApi<OrderQueries>("/order/batchget", OrderQueries.BatchGetOrderApi, (orders, call, ct) => orders.BatchGetAsync(call, ct));
        group.MapWxApi<QuotaQueries>("/quota/get", QuotaQueries.Api, (quotas, call, ct) => quotas.GetAsync(call, ct));
        group.MapWxApi<AccountBinding>("/account/bind", AccountBinding.BindApi, (accounts, call, ct) => accounts.BindAsync(call, ct));
        group.MapWxApi<AccountBinding>("/account/getall", AccountBinding.ListApi with
        {
            Doc = new(
                "getAllAccount (获取所有绑定的物流账号): the merchant's bound accounts",
                "Merchant access_token; GET. Answers {count, list[{biz_id, delivery_id, create_time, update_time, status_code (0, bound), alias, " +
                "remark_wrong_msg, remark_content, quota_num and quota_update_time (the last getQuota's, once asked), service_type[{service_type, " +
                "service_name}]}]}, by delivery_id and biz_id.",
                typeof(object),
                typeof(AllAccounts)),
        }, (accounts, call, ct) => accounts.ListAsync(call, ct));
        app.MapWxApiGroup("/cgi-bin/express/delivery")
            .MapWxApi<OrderQueries>("/contact/get", OrderQueries.GetContactApi, (orders, call, ct) => orders.ContactAsync(call, ct));
        group.MapWxApi<Store>("/delivery/getall", GetAllDeliveryApi with
        {
            Doc = new(
                "getAllDelivery (获取支持的快递公司列表): the carriers and their service types",
                "Merchant access_token; GET. Answers {count, data[{delivery_id, delivery_name, can_use_cash, can_get_quota, service_type[{service_type, service_name}]}]}.",
                typeof(object),
                typeof(AllDelivery)),
        }, ListAsync);
        return group;
    }

    static async Task<WxReply> ListAsync(Store store, WxCall call, CancellationToken cancellationToken)
    {
        var carriers = await store.ListCarriersAsync(cancellationToken);
        var data = carriers.Select(c => new DeliveryListing(c.DeliveryId.Value, c.Name, 0, 0, ServiceOffer.Parse(c.ServiceTypesJson))).ToList();
        return WxReply.Success(new AllDelivery(data.Count, data));
    }
}

/// <summary>A service a carrier offers: {service_type, service_name}.</summary>
public sealed record ServiceOffer(int ServiceType, string ServiceName)
{
    /// <summary>A carrier's stored service types; none when it has none, or they cannot be read.</summary>
    public static IReadOnlyList<ServiceOffer> Parse(string? json)
    {
        try
        {
            return json is null ? [] : JsonSerializer.Deserialize<List<ServiceOffer>>(json, WireJson.Options) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

public sealed record DeliveryListing(string DeliveryId, string DeliveryName, int CanUseCash, int CanGetQuota, IReadOnlyList<ServiceOffer> ServiceType);

public sealed record AllDelivery(int Count, IReadOnlyList<DeliveryListing> Data);
