using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using WxLogistics.Client;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Sdk;

/// <summary>The SDK's push helpers on the documented samples (../shared/spec/wechat-logistics.md §2 and §3).</summary>
public sealed class EventHelperTests
{
    const string OfficialXml =
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>1546924844</CreateTime>" +
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[add_express_path]]></Event><DeliveryID><![CDATA[SF]]></DeliveryID>" +
        "<WayBillId><![CDATA[123456789]]></WayBillId><OrderId><![CDATA[123456]]></OrderId><Version>3</Version><Count>3</Count>" +
        "<Actions><ActionTime>1546924840</ActionTime><ActionType>100001</ActionType><ActionMsg><![CDATA[小哥A揽件成功]]></ActionMsg></Actions>" +
        "<Actions><ActionTime>1546924841</ActionTime><ActionType>200001</ActionType><ActionMsg><![CDATA[到达广州集包地]]></ActionMsg></Actions>" +
        "<Actions><ActionTime>1546924842</ActionTime><ActionType>200001</ActionType><ActionMsg><![CDATA[运往目的地]]></ActionMsg></Actions></xml>";

    const string OfficialJson = """
        {"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1546924844,"MsgType":"event","Event":"add_express_path",
         "DeliveryID":"SF","WayBillId":"123456789","Version":2,"Count":3,
         "Actions":[{"ActionTime":1546924840,"ActionType":100001,"ActionMsg":"小哥A揽件成功"},
                    {"ActionTime":1546924841,"ActionType":200001,"ActionMsg":"到达广州集包地"},
                    {"ActionTime":1546924842,"ActionType":200001,"ActionMsg":"运往目的地"}]}
        """;

    static string Sign(string token, string timestamp, string nonce)
    {
        string[] parts = [token, timestamp, nonce];
        Array.Sort(parts, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
    }

    [Fact]
    public void A_merchant_reads_the_documented_xml_and_json_path_samples()
    {
        var xml = LogisticsEvents.ParseAddExpressPath(OfficialXml);
        var json = LogisticsEvents.ParseAddExpressPath(OfficialJson);

        Assert.Equal((EventFormat.Xml, "SF", "123456789", "123456", 3L), (xml.Format, xml.DeliveryId.Value, xml.WaybillId.Value, xml.OrderId, xml.Version));
        Assert.Equal((EventFormat.Json, "", 2L), (json.Format, json.OrderId, json.Version));
        foreach (var push in new[] { xml, json })
        {
            Assert.Equal(1546924844, push.CreateTime.ToUnixTimeSeconds());
            Assert.Equal(
                [(1546924840L, ActionType.PickedUp, "小哥A揽件成功"), (1546924841L, ActionType.InTransit, "到达广州集包地"), (1546924842L, ActionType.InTransit, "运往目的地")],
                push.Actions.Select(a => (a.ActionTime.ToUnixTimeSeconds(), a.ActionType, a.ActionMessage)));
        }
    }

    [Fact]
    public void A_carrier_answers_an_add_waybill_push_in_its_own_form_with_the_names_swapped()
    {
        var xmlPush = "<xml><ToUserName><![CDATA[gh_carrier]]></ToUserName><FromUserName><![CDATA[wxteam]]></FromUserName><CreateTime>1</CreateTime>" +
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[add_waybill]]></Event><Token><![CDATA[TOKEN]]></Token><OrderID><![CDATA[o-1]]></OrderID>" +
            "<BizID><![CDATA[biz]]></BizID><WayBillID><![CDATA[0]]></WayBillID><Receiver><Name><![CDATA[李四]]></Name></Receiver>" +
            "<Cargo><Weight>1.5</Weight><Count>2</Count><DetailList><Name><![CDATA[书]]></Name><Count>1</Count></DetailList>" +
            "<DetailList><Name><![CDATA[笔]]></Name><Count>3</Count></DetailList></Cargo></xml>";
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_764_000_000));

        var order = LogisticsEvents.ParseAddWaybill(xmlPush);
        var reply = XElement.Parse(order.Reply(AddWaybillResult.Success("SF001", "##bagAddr##广州##"), clock));
        var refusal = JsonDocument.Parse(LogisticsEvents.ParseAddWaybill(
            """{"ToUserName":"gh_carrier","FromUserName":"wxteam","Event":"add_waybill","Token":"T2","OrderID":"o-2","BizID":"biz"}""")
            .Reply(AddWaybillResult.Failure(10002, "客户密码不正确"), clock)).RootElement;

        Assert.Equal(("TOKEN", "o-1", "李四", 1.5), (order.Token, order.OrderId, order.Receiver.Name, order.Cargo.Weight));
        Assert.Equal([("书", 1), ("笔", 3)], order.Cargo.DetailList.Select(i => (i.Name, i.Count)));
        Assert.Equal("text/xml; charset=utf-8", order.ReplyContentType);
        Assert.Equal(("wxteam", "gh_carrier", "1764000000"), (reply.Element("ToUserName")!.Value, reply.Element("FromUserName")!.Value, reply.Element("CreateTime")!.Value));
        Assert.Equal(("TOKEN", "o-1", "biz", "SF001", "0", "##bagAddr##广州##"), (
            reply.Element("Token")!.Value, reply.Element("OrderID")!.Value, reply.Element("BizID")!.Value,
            reply.Element("WayBillID")!.Value, reply.Element("ResultCode")!.Value, reply.Element("WaybillData")!.Value));
        Assert.Equal((10002, "客户密码不正确", "T2", "wxteam"), (
            refusal.GetProperty("ResultCode").GetInt32(), refusal.GetProperty("ResultMsg").GetString(), refusal.GetProperty("Token").GetString(),
            refusal.GetProperty("ToUserName").GetString()));
    }

    [Fact]
    public void A_carrier_answers_a_get_quota_push_with_the_balance_in_the_pushs_own_form()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_764_000_000));
        var xml = LogisticsEvents.ParseGetQuota(
            "<xml><ToUserName><![CDATA[gh_carrier]]></ToUserName><FromUserName><![CDATA[wxteam]]></FromUserName><CreateTime>1</CreateTime>" +
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[get_quota]]></Event><BizID><![CDATA[biz]]></BizID><BizPwd><![CDATA[pw]]></BizPwd>" +
            "<ShopAppID><![CDATA[wxshop]]></ShopAppID></xml>");
        var json = LogisticsEvents.ParseGetQuota("""{"ToUserName":"gh_carrier","FromUserName":"wxteam","Event":"get_quota","BizID":"biz2"}""");

        var reply = XElement.Parse(xml.Reply(0, "成功", 250, clock));
        var refusal = JsonDocument.Parse(json.Reply(10001, "客户编码不存在", 0, clock)).RootElement;

        Assert.Equal(("biz", "pw", "wxshop", "text/xml; charset=utf-8"), (xml.BizId, xml.BizPassword, xml.ShopAppId, xml.ReplyContentType));
        Assert.Equal(("wxteam", "gh_carrier", "1764000000", "get_quota", "biz", "0", "250"), (
            reply.Element("ToUserName")!.Value, reply.Element("FromUserName")!.Value, reply.Element("CreateTime")!.Value, reply.Element("Event")!.Value,
            reply.Element("BizID")!.Value, reply.Element("ResultCode")!.Value, reply.Element("Quota")!.Value));
        Assert.Equal((10001, "客户编码不存在", "biz2", 0), (
            refusal.GetProperty("ResultCode").GetInt32(), refusal.GetProperty("ResultMsg").GetString(), refusal.GetProperty("BizID").GetString(), refusal.GetProperty("Quota").GetInt32()));
        Assert.Equal("the push has no BizID", Assert.Throws<WxEventException>(() => LogisticsEvents.ParseGetQuota("""{"Event":"get_quota"}""")).Message);
        Assert.Contains("not get_quota", Assert.Throws<WxEventException>(() => LogisticsEvents.ParseGetQuota("""{"Event":"add_waybill","BizID":"b"}""")).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => json.Reply(0, "成功", -1));
    }

    [Fact]
    public void A_carrier_answers_a_check_biz_push_in_its_own_form()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_764_000_000));
        var check = LogisticsEvents.ParseCheckBiz(
            """{"ToUserName":"gh_carrier","FromUserName":"wxteam","CreateTime":1,"MsgType":"event","Event":"check_biz","BizID":"biz","BizPwd":"pw","ShopAppID":"wxshop"}""");

        var reply = JsonDocument.Parse(check.Reply(10002, "客户密码不正确", clock)).RootElement;

        Assert.Equal(("biz", "pw", "wxshop", "application/json; charset=utf-8"), (check.BizId, check.BizPassword, check.ShopAppId, check.ReplyContentType));
        Assert.Equal(("wxteam", "gh_carrier", 1764000000L, "check_biz", "biz", 10002, "客户密码不正确"), (
            reply.GetProperty("ToUserName").GetString(), reply.GetProperty("FromUserName").GetString(), reply.GetProperty("CreateTime").GetInt64(),
            reply.GetProperty("Event").GetString(), reply.GetProperty("BizID").GetString(), reply.GetProperty("ResultCode").GetInt32(), reply.GetProperty("ResultMsg").GetString()));
        Assert.Equal("the push has no BizID", Assert.Throws<WxEventException>(() => LogisticsEvents.ParseCheckBiz("<xml><Event>check_biz</Event></xml>")).Message);
    }

    [Fact]
    public void A_signature_verifies_only_with_the_right_token_and_a_recent_timestamp()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_764_000_000));
        var signature = Sign("PushToken1", "1764000000", "42");

        Assert.True(LogisticsEvents.VerifySignature("PushToken1", signature, "1764000000", "42"));
        Assert.True(LogisticsEvents.VerifySignature("PushToken1", signature.ToUpperInvariant(), "1764000000", "42", TimeSpan.FromMinutes(5), clock));
        Assert.False(LogisticsEvents.VerifySignature("OtherToken", signature, "1764000000", "42"));
        Assert.False(LogisticsEvents.VerifySignature("PushToken1", signature, "1764000000", "43"));
        Assert.False(LogisticsEvents.VerifySignature("PushToken1", null, "1764000000", "42"));
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.False(LogisticsEvents.VerifySignature("PushToken1", signature, "1764000000", "42", TimeSpan.FromMinutes(5), clock));
    }

    [Fact]
    public void A_malformed_push_or_another_event_is_a_format_error()
    {
        Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddExpressPath("<xml><Event>"));
        Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddExpressPath("[1,2]"));
        var other = Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddWaybill(OfficialJson));
        Assert.Contains("add_express_path", other.Message);
        Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddExpressPath("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><Event>&e;</Event></xml>"));
        Assert.Equal("cancel_waybill", LogisticsEvents.EventName("""{"Event":"CANCEL_WAYBILL"}"""));
        var half = Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddExpressPath(OfficialJson.Replace("\"add_express_path\"", "\"add_express_path\\ud800\"", StringComparison.Ordinal)));
        Assert.Contains(@"the push's Event holds a \u escape of half a character", half.Message);
    }

    [Theory]
    [InlineData("\"CreateTime\":1546924844", "\"CreateTime\":99999999999999", "the push's CreateTime is not from 0 to 253402300799: 99999999999999")]
    [InlineData("\"ActionTime\":1546924841", "\"ActionTime\":\"yesterday\"", "the push's ActionTime is not a whole number: 'yesterday'")]
    [InlineData("\"ActionType\":100001", "\"ActionType\":1e12", "the push's ActionType is not from -2147483648 to 2147483647: 1000000000000")]
    [InlineData("\"Version\":2", "\"Version\":2.5", "the push's Version is not a whole number: '2.5'")]
    [InlineData("\"Version\":2", "\"Version\":-1", "the push's Version is not from 0 to 9223372036854775807: -1")]
    [InlineData("\"Version\":2,", "", "the push has no Version")]
    [InlineData("\"WayBillId\":\"123456789\",", "", "the push has no WayBillId")]
    [InlineData("\"DeliveryID\":\"SF\",", "\"DeliveryID\":\"\",", "the push has no DeliveryID")]
    public void A_path_push_with_a_field_out_of_its_range_or_missing_is_a_format_error_naming_it(string field, string replacement, string message)
    {
        var json = OfficialJson.Replace(field, replacement, StringComparison.Ordinal);
        Assert.NotEqual(OfficialJson, json);

        var error = Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddExpressPath(json));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Whole_numbers_written_as_decimals_and_fields_left_out_still_read()
    {
        var push = LogisticsEvents.ParseAddExpressPath(OfficialJson.Replace("\"Version\":2", "\"Version\":2.0", StringComparison.Ordinal).Replace("\"CreateTime\":1546924844,", "", StringComparison.Ordinal));

        Assert.Equal(2, push.Version);
        Assert.Equal(DateTimeOffset.UnixEpoch, push.CreateTime);
        Assert.Equal(3, push.Actions.Count);
    }

    [Fact]
    public void An_order_push_without_its_token_or_order_id_is_a_format_error()
    {
        var error = Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddWaybill("""{"Event":"add_waybill","OrderID":"o-1","CreateTime":1546924844}"""));
        Assert.Equal("the push has no Token", error.Message);

        var weight = Assert.Throws<WxEventException>(() => LogisticsEvents.ParseAddWaybill(
            """{"Event":"add_waybill","Token":"t","OrderID":"o-1","Cargo":{"Count":1,"Weight":"heavy"}}"""));
        Assert.Equal("the push's Weight is not a number: 'heavy'", weight.Message);
    }
}
