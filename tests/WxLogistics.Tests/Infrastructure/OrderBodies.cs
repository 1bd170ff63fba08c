namespace WxLogistics.Tests.Infrastructure;

/// <summary>addOrder bodies as a merchant sends them.</summary>
public static class OrderBodies
{
    /// <summary>A complete order for <paramref name="deliveryId"/> under account <paramref name="bizId"/>, service type 1.</summary>
    public static Dictionary<string, object?> Order(string orderId = "order-1", string deliveryId = "SF", string bizId = "biz-001") => new()
    {
        ["add_source"] = 0,
        ["order_id"] = orderId,
        ["openid"] = "openid-1",
        ["delivery_id"] = deliveryId,
        ["biz_id"] = bizId,
        ["custom_remark"] = "易碎物品",
        ["sender"] = new { name = "张三", tel = "020-88888888", mobile = "13800000000", company = "公司", post_code = "510000", country = "中国", province = "广东省", city = "广州市", area = "海珠区", address = "新港中路397号" },
        ["receiver"] = new { name = "李四", mobile = "13900000000", province = "北京市", city = "北京市", area = "朝阳区", address = "建国路88号" },
        ["cargo"] = new { count = 1, weight = 1.2, space_x = 10, space_y = 20, space_z = 30, detail_list = new[] { new { name = "手机", count = 1 } } },
        ["shop"] = new { wxa_path = "/index", img_url = "https://example.com/phone.png", goods_name = "手机", goods_count = 1 },
        ["insured"] = new { use_insured = 0, insured_value = 0 },
        ["service"] = new { service_type = 1, service_name = "标准快递" },
    };
}
