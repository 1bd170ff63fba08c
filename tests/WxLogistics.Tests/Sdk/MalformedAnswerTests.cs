using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using WxLogistics.Client;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Sdk;

/// <summary>
/// The SDK pointed at something that is not quite WeChat (a gateway, a mock, a misconfigured proxy) whose answers are
/// JSON but not WeChat's: each call fails with <see cref="WxLogisticsApiException"/> naming the field, never with an
/// InvalidOperationException or NullReferenceException from deep inside the SDK.
/// </summary>
public sealed class MalformedAnswerTests : IAsyncLifetime
{
    readonly int port = PushReceiver.FreePort();
    WebApplication? gateway;

    /// <summary>What the gateway answers to the token request and to every API call.</summary>
    string tokenAnswer = """{"access_token":"T0KEN","expires_in":7200}""";
    string apiAnswer = """{"errcode":0,"errmsg":"ok"}""";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        gateway = builder.Build();
        gateway.MapGet("/cgi-bin/token", () => Results.Text(tokenAnswer, "application/json"));
        gateway.MapPost("/cgi-bin/stable_token", () => Results.Text(tokenAnswer, "application/json"));
        gateway.MapFallback(() => Results.Text(apiAnswer, "application/json"));
        await gateway.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }
    }

    WxLogisticsClient Client() => new(new WxLogisticsClientOptions { AppId = "wxapp", AppSecret = "secret", BaseAddress = new Uri($"http://127.0.0.1:{port}/") });

    Task UpdateAsync(WxLogisticsClient client) =>
        client.DeliveryPath.UpdateAsync(new PathUpdate("tok", new WaybillId("SF1"), DateTimeOffset.FromUnixTimeSeconds(1533052800), ActionType.PickedUp, "揽件"));

    Task<WaybillPath> GetPathAsync(WxLogisticsClient client) => client.BusinessPath.GetAsync(new DeliveryId("SF"), new WaybillId("SF1"));

    [Theory]
    [InlineData("""{"errcode":"40001","errmsg":"x"}""", "the answer's errcode is not a whole number: \"40001\"")]
    [InlineData("""{"errcode":1.5}""", "the answer's errcode is not a whole number: 1.5")]
    [InlineData("""{"errcode":null}""", "the answer's errcode is not a whole number: null")]
    public async Task An_answer_whose_errcode_is_not_a_number_fails_the_call_with_a_message_naming_it(string answer, string message)
    {
        apiAnswer = answer;
        using var client = Client();

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => UpdateAsync(client));

        Assert.Equal(-1, error.ErrorCode);
        Assert.Equal(message, error.ErrorMessage);
        Assert.Equal("logistics.updatePath", error.Api);
    }

    [Theory]
    [InlineData("""{"errcode":0,"errmsg":"ok"}""", "the answer has no order_list")]
    [InlineData("""{"order_list":[{"errcode":0}]}""", "the answer's order_list is not a list of the 2 orders asked: [{\"errcode\":0}]")]
    [InlineData("""{"order_list":[{"errcode":0},7]}""", "the answer's order_list[1] is not an object: 7")]
    [InlineData("""{"order_list":[{"errcode":0},{"errmsg":"ok"}]}""", "the answer has no order_list[1].errcode")]
    [InlineData("""{"order_list":[{"errcode":0,"order_status":"1"},{"errcode":0}]}""", "the answer's order_list[0].order_status is not a whole number: \"1\"")]
    public async Task A_batchGetOrder_answer_without_one_result_per_order_asked_fails_the_call_naming_what_is_wrong(string answer, string message)
    {
        apiAnswer = answer;
        using var client = Client();
        var order = new OrderKey("o-1", new DeliveryId("SF"), new WaybillId("SF1"));

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => client.Orders.BatchGetAsync([order, order]));

        Assert.Equal((-1, message, "logistics.batchGetOrder"), (error.ErrorCode, error.ErrorMessage, error.Api));
    }

    [Theory]
    [InlineData("""{"errcode":0,"errmsg":"ok"}""", "logistics.getQuota", "the answer has no quota_num")]
    [InlineData("""{"quota_num":"12"}""", "logistics.getQuota", "the answer's quota_num is not a whole number from 0 to 9223372036854775807: \"12\"")]
    [InlineData("""{"quota_num":-1}""", "logistics.getQuota", "the answer's quota_num is not a whole number from 0 to 9223372036854775807: -1")]
    [InlineData("""{"count":1,"list":[{"biz_id":"b","delivery_id":"SF","create_time":1}]}""", "logistics.getAllAccount", "the answer has no list[0].status_code")]
    [InlineData("""{"count":1,"list":[{"biz_id":"b","delivery_id":"SF","status_code":0,"create_time":1,"quota_num":1.5}]}""", "logistics.getAllAccount",
        "the answer's list[0].quota_num is not a whole number from 0 to 9223372036854775807: 1.5")]
    public async Task An_account_answer_that_is_not_WeChats_fails_the_call_naming_the_field(string answer, string api, string message)
    {
        apiAnswer = answer;
        using var client = Client();

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => api == "logistics.getQuota"
            ? client.Orders.GetQuotaAsync(new DeliveryId("SF"), "biz")
            : client.Orders.GetAllAccountAsync());

        Assert.Equal((-1, message, api), (error.ErrorCode, error.ErrorMessage, error.Api));
    }

    [Fact]
    public async Task An_error_answer_whose_errmsg_is_not_a_string_still_surfaces_its_errcode()
    {
        apiAnswer = """{"errcode":40199,"errmsg":{"text":"no such waybill"}}""";
        using var client = Client();

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => UpdateAsync(client));

        Assert.Equal(40199, error.ErrorCode);
    }

    [Theory]
    [InlineData("""{"access_token":"T0KEN","expires_in":"7200"}""", -1, "the answer's expires_in is not a positive whole number of seconds: \"7200\"")]
    [InlineData("""{"access_token":"T0KEN","expires_in":0}""", -1, "the answer's expires_in is not a positive whole number of seconds: 0")]
    [InlineData("""{"access_token":12345,"expires_in":7200}""", -1, "no access_token in the answer")]
    [InlineData("""{"errcode":"40013","errmsg":"invalid appid"}""", -1, "the answer's errcode is not a whole number: \"40013\"")]
    [InlineData("""{"errcode":40013,"errmsg":"invalid appid"}""", 40013, "invalid appid")]
    public async Task A_token_answer_that_is_not_WeChat_s_fails_the_call_with_a_message_naming_the_field(string answer, int errcode, string message)
    {
        tokenAnswer = answer;
        using var client = Client();

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => UpdateAsync(client));

        Assert.Equal(errcode, error.ErrorCode);
        Assert.Equal(message, error.ErrorMessage);
        Assert.Equal("access_token", error.Api);
    }

    [Theory]
    [InlineData("""{"errcode":0,"path_item_list":[{"action_time":1533052800,"action_type":100001}]}""", "the answer has no path_item_list[0].action_msg")]
    [InlineData("""{"errcode":0,"path_item_list":[{"action_time":1533052800,"action_type":100001,"action_msg":"揽件"},{"action_time":"1533052900","action_type":100001,"action_msg":"x"}]}""", "the answer's path_item_list[1].action_time is not a whole number from 0 to 253402300799: \"1533052900\"")]
    [InlineData("""{"errcode":0,"path_item_list":[{"action_time":99999999999999,"action_type":100001,"action_msg":"x"}]}""", "the answer's path_item_list[0].action_time is not a whole number from 0 to 253402300799: 99999999999999")]
    [InlineData("""{"errcode":0,"path_item_list":[{"action_time":1533052800,"action_type":1e3,"action_msg":"x"}]}""", "the answer's path_item_list[0].action_type is not a whole number: 1e3")]
    [InlineData("""{"errcode":0,"path_item_list":["揽件"]}""", "the answer's path_item_list[0] is not an object: \"揽件\"")]
    [InlineData("""{"errcode":0,"path_item_list":"none"}""", "the answer's path_item_list is not a list: \"none\"")]
    public async Task A_path_answer_that_is_not_WeChat_s_fails_getPath_with_a_message_naming_the_field(string answer, string message)
    {
        apiAnswer = answer;
        using var client = Client();

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => GetPathAsync(client));

        Assert.Equal(-1, error.ErrorCode);
        Assert.Equal(message, error.ErrorMessage);
        Assert.Equal("logistics.getPath", error.Api);
    }

    [Fact]
    public async Task A_well_formed_path_answer_from_the_same_gateway_is_read()
    {
        apiAnswer = """{"errcode":0,"openid":"u-1","path_item_list":[{"action_time":1533052800,"action_type":100001,"action_msg":"揽件"}]}""";
        using var client = Client();

        var path = await GetPathAsync(client);

        var item = Assert.Single(path.Items);
        Assert.Equal(ActionType.PickedUp, item.ActionType);
        Assert.Equal("揽件", item.ActionMessage);
        Assert.Equal("u-1", path.OpenId);
    }
}
