using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WxLogistics.Tests.Hostile;

/// <summary>
/// Malformed requests by the ten thousand, to every public endpoint: no 5xx, no crash, every WeChat API answer a JSON
/// envelope, and normal traffic still served afterwards. The generator is seeded, so a failure can be replayed.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output) : IAsyncLifetime
{
    const int Requests = 10_000;

    readonly WxServer server = new();
    string carrierToken = "";
    string merchantToken = "";
    Waybill waybill = new("", "", "");

    string cloudSecretId = "";
    string cloudSecretKey = "";

    public async Task InitializeAsync()
    {
        App merchant;
        (merchant, waybill, carrierToken, merchantToken) = await server.AddShipmentAsync("W1", "o1", "u1");
        var env = await server.OperatorAsync("cloudenv", "add", "--env", "shop", "--appid", merchant.AppId, "--permissions", "logistics.getPath,logistics.updatePath", "--default");
        cloudSecretId = env.GetProperty("secretId").GetString()!;
        cloudSecretKey = env.GetProperty("secretKey").GetString()!;
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    static readonly string[] Paths =
    [
        "/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/express/delivery/path/update", "/cgi-bin/express/business/path/get",
        "/cgi-bin/express/business/path/link", "/tcb/admin", "/t/abc.def", "/admin/push", "/admin/push/replay", "/cgi-bin/nothing",
        "/", "/cgi-bin/express/delivery/path/update/../../token", "/cgi-bin/express/business/order/add",
        "/cgi-bin/express/business/test_update_order", "/cgi-bin/express/business/delivery/getall", "/cgi-bin/express/business/order/cancel",
        "/cgi-bin/express/business/order/get", "/cgi-bin/express/business/order/batchget", "/cgi-bin/express/delivery/contact/get",
        "/cgi-bin/express/business/quota/get", "/cgi-bin/express/business/account/bind", "/cgi-bin/express/business/account/getall",
    ];

    static readonly string[] Methods = ["GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    static readonly string[] ContentTypes =
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "multipart/form-data", "image/png", ""];

    [Fact]
    public async Task Ten_thousand_malformed_requests_get_no_5xx_and_WeChat_style_answers_and_the_server_keeps_serving()
    {
        var random = new Random(20261128);
        var client = server.CreateClient();
        var counts = new Dictionary<int, int>();
        var cloudAnswers = 0;
        for (var i = 0; i < Requests; i++)
        {
            // The cloud gateway gets a tenth of the requests besides its share of the paths, so that many signed calls
            // reach the APIs behind it whatever the number of paths.
            var path = random.Next(10) == 0 ? "/tcb/admin" : Paths[random.Next(Paths.Length)];
            var method = Methods[random.Next(Methods.Length)];
            var signed = path == "/tcb/admin" && random.Next(2) == 0;
            using var request = signed ? SignedCloudCall(random) : new HttpRequestMessage(new HttpMethod(method), path + Query(random));
            if (signed)
            {
                method = "POST";
            }
            else if (path == "/tcb/admin")
            {
                // Past the env's lookup to the signature's checks: the env's real secretId, with headers a signer never writes.
                request.Headers.TryAddWithoutValidation("Authorization", CloudAuthorization(random));
                request.Headers.TryAddWithoutValidation("X-Timestamp", CloudTimestamp(random));
            }

            if (method is not ("GET" or "HEAD") && request.Content is null)
            {
                var body = Body(random, i);
                request.Content = new ByteArrayContent(body);
                var type = ContentTypes[random.Next(ContentTypes.Length)];
                if (type.Length > 0)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
                }
            }

            using var response = await client.SendAsync(request);
            var status = (int)response.StatusCode;
            counts[status] = counts.GetValueOrDefault(status) + 1;
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"request {i}: {method} {path} answered {status}: {text}");
            if (path.StartsWith("/cgi-bin/", StringComparison.Ordinal) && method != "HEAD")
            {
                AssertWeChatAnswer(i, method, path, text);
            }
            else if (path == "/tcb/admin" && response.Content.Headers.ContentType?.MediaType == "application/json")
            {
                // The gateway's SYS_ERR, like -1, is what an unexpected exception is answered with.
                Assert.DoesNotContain("\"SYS_ERR\"", text);
            }
            else if (path == "/tcb/admin" && response.Content.Headers.ContentType?.MediaType == "application/octet-stream")
            {
                // Signed, so answered by the API (or refused before it, as an unknown API): its WeChat JSON in respData.
                var answer = WxLogistics.CloudGateway.Protocol.CommOpenApiResp.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
                if (answer.RespData.Length > 0)
                {
                    cloudAnswers++;
                    AssertWeChatAnswer(i, method, path, answer.RespData.ToStringUtf8());
                }
            }
        }

        output.WriteLine($"{Requests} requests; statuses: {string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}×{c.Value}"))}; {cloudAnswers} signed cloud calls answered by an API");
        Assert.True(cloudAnswers > 30, $"only {cloudAnswers} signed cloud calls reached an API");
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "W1", action_time = 1533052800, action_type = 100001, action_msg = "仍在服务" }));
        var read = await server.GetPathAsync(merchantToken, new { delivery_id = "SF", waybill_id = "W1" });
        Assert.True(read.GetProperty("path_item_num").GetInt32() >= 1);
    }

    static void AssertWeChatAnswer(int i, string method, string path, string text)
    {
        JsonElement json;
        try
        {
            json = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            Assert.Fail($"request {i}: {method} {path} answered something that is not JSON: {text}");
            return;
        }

        Assert.True(
            json.ValueKind == JsonValueKind.Object
            && ((json.TryGetProperty("errcode", out var code) && code.ValueKind == JsonValueKind.Number && json.TryGetProperty("errmsg", out _))
                || json.TryGetProperty("access_token", out _) || json.TryGetProperty("path_item_num", out _) || json.TryGetProperty("path", out _)
            || json.TryGetProperty("data", out _) || json.TryGetProperty("list", out _) || json.TryGetProperty("order_list", out _)
            || json.TryGetProperty("quota_num", out _)),
            $"request {i}: {method} {path} answered {text}");

        // -1 is what an unexpected exception is answered with; the store is up, so no input may lead to one.
        Assert.False(json.TryGetProperty("errcode", out var errcode) && errcode.GetInt32() == -1, $"request {i}: {method} {path} answered a system error: {text}");
    }

    /// <summary>
    /// A cloud call the env's secretKey signs, as wx-server-sdk would (signed here with the server's own signer, which the
    /// real SDK's tests check), whose apiName and requestData are odd: past the signature, into the APIs. One in three
    /// carries instead an Authorization and X-Timestamp no signer writes, to the signature's checks.
    /// </summary>
    HttpRequestMessage SignedCloudCall(Random random)
    {
        var data = new WxLogistics.CloudGateway.Protocol.CommApiData { ApiType = random.Next(4) == 0 ? random.Next(-1, 4) : 0, OpenapiData = new() };
        string[] names = ["delivery_id", "waybill_id", "openid", "order_id", "token", "action_time", "action_type", "action_msg", RandomText(random, 10)];
        for (var n = random.Next(6); n > 0; n--)
        {
            var value = random.Next(4) switch
            {
                0 => Encoding.UTF8.GetBytes(WrongTypes(random)),
                1 => RandomBytes(random, random.Next(20)),
                2 => Encoding.UTF8.GetBytes(random.Next(2) == 0 ? "\"W1\"" : "\"W\\ud800\""),
                _ => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(RandomText(random, 40))),
            };
            data.OpenapiData.Pairs.Add(new WxLogistics.CloudGateway.Protocol.KeyValuePair { Key = names[random.Next(names.Length)], Value = Google.Protobuf.ByteString.CopyFrom(value) });
        }

        byte[] requestData = random.Next(5) == 0 ? RandomBytes(random, random.Next(50)) : Google.Protobuf.MessageExtensions.ToByteArray(data);
        string[] apis = ["logistics.getPath", "logistics.getPath", "logistics.getPath", "logistics.updatePath", "logistics.updatePath", "logistics.nothing", RandomText(random, 20)];
        var fields = new List<(string Name, string? Text, byte[]? Binary)>
        {
            ("action", "wx.openApi", null),
            ("envName", "shop", null),
            ("apiName", apis[random.Next(apis.Length)], null),
            ("requestData", null, requestData),
        };
        var form = new MultipartFormDataContent();
        foreach (var (name, text, binary) in fields)
        {
            form.Add(text is not null ? new StringContent(text) : new ByteArrayContent(binary!) { Headers = { ContentType = new("application/octet-stream") } }, name);
        }

        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var signature = WxLogistics.CloudGateway.Tc3Signature.Compute(
            cloudSecretKey,
            "tcb",
            "post",
            "//localhost/tcb/admin",
            "",
            [("content-type", "multipart/form-data"), ("host", "localhost")],
            [.. fields.Select(f => (f.Name.ToLowerInvariant(), f.Binary ?? Encoding.UTF8.GetBytes(f.Text!.Trim())))],
            timestamp);
        var request = new HttpRequestMessage(HttpMethod.Post, "/tcb/admin") { Content = form };
        var odd = random.Next(3) == 0;
        request.Headers.TryAddWithoutValidation(
            "Authorization",
            odd ? CloudAuthorization(random) : $"TC3-HMAC-SHA256 Credential={cloudSecretId}/2026-12-08/tcb/tc3_request, SignedHeaders=content-type;host, Signature={signature}");
        request.Headers.TryAddWithoutValidation("X-Timestamp", odd ? CloudTimestamp(random) : timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return request;
    }

    string CloudAuthorization(Random random) => random.Next(6) switch
    {
        0 => $"TC3-HMAC-SHA256 Credential={cloudSecretId}/2026-12-08/tcb/tc3_request, SignedHeaders=content-type;host, Signature=00",
        1 => $"TC3-HMAC-SHA256 Credential={cloudSecretId}/2026-12-08/tcb/tc3_request, Credential=x/y/z/tc3_request, SignedHeaders=host, Signature=00",
        2 => $"TC3-HMAC-SHA256 Credential={cloudSecretId}/a/b/tc3_request, SignedHeaders=;;;{RandomText(random, 20)}, Signature={RandomText(random, 80)}",
        3 => $"TC3-HMAC-SHA256 Credential={cloudSecretId}//tc3_request,,,=,Signature==,SignedHeaders=",
        4 => "TC3-HMAC-SHA256 " + RandomText(random, 300),
        _ => "",
    };

    static string CloudTimestamp(Random random)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return random.Next(6) switch
        {
            0 => now.ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => (now + random.Next(-2, 3) + long.MinValue).ToString(System.Globalization.CultureInfo.InvariantCulture),
            2 => long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            3 => "-0",
            4 => RandomText(random, 30),
            _ => "",
        };
    }

    string Query(Random random) => random.Next(8) switch
    {
        0 => "",
        1 => $"?access_token={carrierToken}",
        2 => $"?access_token={merchantToken}",
        3 => "?access_token=%ZZ%00%ff&access_token=second&&&=",
        4 => "?access_token=" + new string('a', 4000),
        5 => $"?grant_type=client_credential&appid=wx{random.Next():x16}&secret=\u0000",
        6 => $"?access_token={carrierToken}&access_token={merchantToken}",
        _ => "?" + Uri.EscapeDataString(RandomText(random, 200)),
    };

    byte[] Body(Random random, int i) => (i % 2000 == 0 ? 9 : random.Next(9)) switch
    {
        0 => [],
        1 => RandomBytes(random, random.Next(1, 2000)),
        2 => Encoding.UTF8.GetBytes(BrokenJson(random)),
        3 => Encoding.UTF8.GetBytes(WrongTypes(random)),
        4 => Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)),
        5 => [.. Encoding.UTF8.GetBytes($"{{\"token\":\"{waybill.Token}\",\"waybill_id\":\"W1\",\"action_msg\":\""), 0xC3, 0x28, 0xF8, 0x00, .. "\"}"u8],
        6 => Encoding.UTF8.GetBytes($"{{\"token\":\"{waybill.Token}\",\"waybill_id\":\"W1\",\"action_time\":1e400,\"action_type\":-0,\"action_msg\":\"{new string('x', random.Next(100, 70_000))}\"}}"),
        7 => random.Next(2) == 0
            ? Encoding.UTF8.GetBytes("{\"grant_type\":\"client_credential\",\"appid\":\"\\ud800\",\"secret\":\"\u0000\",\"force_refresh\":[]}")
            : Encoding.UTF8.GetBytes(Valid(random).Replace("W1", "W\\udc00", StringComparison.Ordinal)), // valid JSON, but half a character
        8 => Encoding.UTF8.GetBytes(Valid(random)),
        _ => new byte[10 * 1024 * 1024],
    };

    string Valid(Random random) => random.Next(3) switch
    {
        0 => JsonSerializer.Serialize(new { token = waybill.Token, waybill_id = "W1", action_time = 1533052800 + random.Next(1000), action_type = 200001, action_msg = RandomText(random, 50) }),
        1 => JsonSerializer.Serialize(new { delivery_id = "SF", waybill_id = "W1", order_id = "o1" }),
        _ => JsonSerializer.Serialize(new { delivery_id = "SF", waybill_id = RandomText(random, 30), ttl_seconds = random.Next(-10, 10_000_000) }),
    };

    static string BrokenJson(Random random)
    {
        var json = JsonSerializer.Serialize(new { token = "TOKEN", waybill_id = "W1", action_time = 1533052800, action_type = 300002, action_msg = "派件" });
        return json[..random.Next(json.Length)];
    }

    static string WrongTypes(Random random)
    {
        string[] values = ["null", "true", "[]", "{}", "\"1533052800\"", "99999999999999999999999999", "-1", "1.5", "\"\"", "{\"a\":[1,{\"b\":null}]}"];
        string V() => values[random.Next(values.Length)];
        return $"{{\"token\":{V()},\"waybill_id\":{V()},\"action_time\":{V()},\"action_type\":{V()},\"action_msg\":{V()},\"delivery_id\":{V()},\"grant_type\":{V()},\"appid\":{V()}}}";
    }

    static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    static string RandomText(Random random, int maxLength)
    {
        var text = new StringBuilder();
        var length = random.Next(maxLength);
        for (var i = 0; i < length; i++)
        {
            text.Append((char)random.Next(1, 0xD7FF));
        }

        return text.ToString();
    }

    [Theory]
    [InlineData("/cgi-bin/express/delivery/path/update", "carrier", """{"token":"{token}","waybill_id":"W1","action_time":1533052800,"action_type":100001,"action_msg":"揽件","action_msg":"签收"}""", "action_msg")]
    [InlineData("/cgi-bin/express/delivery/path/update", "carrier", """{"token":"wrong","waybill_id":"W1","token":"{token}","action_time":1533052800,"action_type":100001,"action_msg":"揽件"}""", "token")]
    [InlineData("/cgi-bin/express/business/path/get", "merchant", """{"order_id":"o1","openid":"u1","delivery_id":"SF","waybill_id":"W1","waybill_id":"W2"}""", "waybill_id")]
    [InlineData("/cgi-bin/express/business/path/link", "merchant", """{"delivery_id":"SF","waybill_id":"W1","ttl_seconds":60,"ttl_seconds":7776000}""", "ttl_seconds")]
    [InlineData("/cgi-bin/stable_token", null, """{"grant_type":"client_credential","appid":"wx0000000000000000","secret":"x","appid":"wx0000000000000001"}""", "appid")]
    [InlineData("/cgi-bin/express/business/order/get", "merchant", """{"order_id":"o1","order_id":"o2","delivery_id":"SF","waybill_id":"W1"}""", "order_id")]
    [InlineData("/cgi-bin/express/business/order/cancel", "merchant", """{"order_id":"o1","delivery_id":"SF","waybill_id":"W1","openid":"u1","openid":"u2"}""", "openid")]
    [InlineData("/cgi-bin/express/business/order/add", "merchant", """{"order_id":"o9","sender":{"name":"张三","name":"李四"}}""", "sender.name")]
    [InlineData("/cgi-bin/express/business/order/add", "merchant", """{"order_id":"o9","cargo":{"detail_list":[{"name":"书","count":1,"count":2}]}}""", "cargo.detail_list[0].count")]
    [InlineData("/cgi-bin/express/business/test_update_order", "merchant", """{"biz_id":"test_biz_id","order_id":"o1","biz_id":"x"}""", "biz_id")]
    [InlineData("/cgi-bin/express/delivery/contact/get", "carrier", """{"token":"{token}","waybill_id":"W1","waybill_id":"W2"}""", "waybill_id")]
    [InlineData("/cgi-bin/express/business/path/link", "merchant", """{"delivery_id":"SF","waybill_id":"W1","0123456789012345678901234567890123456789012345678901234567890123456789":1,"0123456789012345678901234567890123456789012345678901234567890123456789":2}""", "0123456789012345678901234567890123456789012345678901234567890123…")]
    public async Task A_field_sent_twice_is_refused_with_47001_naming_it_rather_than_one_of_its_values_taken(string path, string? caller, string body, string repeated)
    {
        var url = caller switch { "carrier" => $"{path}?access_token={carrierToken}", "merchant" => $"{path}?access_token={merchantToken}", _ => path };

        var reply = await server.PostRawAsync(url, Encoding.UTF8.GetBytes(body.Replace("{token}", waybill.Token, StringComparison.Ordinal)));

        WxAssert.Error(47001, reply, $"data format error: {repeated} is sent twice");
        Assert.Equal(0, (await server.GetPathAsync(merchantToken, new { order_id = "o1", openid = "u1", delivery_id = "SF", waybill_id = "W1" })).GetProperty("path_item_num").GetInt32());
    }

    [Theory]
    [InlineData("/cgi-bin/express/business/path/get", "merchant", """{"order_id":"o1","openid":"u1","delivery_id":"SF","waybill_id":"W\udc00"}""", "a field")]
    [InlineData("/cgi-bin/express/business/path/link", "merchant", """{"delivery_id":"SF","waybill_id":"W\ud800"}""", "waybill_id")]
    [InlineData("/cgi-bin/stable_token", null, """{"grant_type":"client_credential","appid":"wx\ud800","secret":"x"}""", "appid")]
    [InlineData("/cgi-bin/express/business/order/get", "merchant", """{"order_id":"o\ud800","delivery_id":"SF","waybill_id":"W1"}""", "order_id")]
    [InlineData("/cgi-bin/express/business/order/cancel", "merchant", """{"order_id":"o1","delivery_id":"SF","waybill_id":"W1","\udc00":1}""", "a name")]
    [InlineData("/cgi-bin/express/business/order/add", "merchant", """{"order_id":"o9","sender":{"name":"张\ud800"}}""", "sender.name")]
    [InlineData("/cgi-bin/express/business/test_update_order", "merchant", """{"biz_id":"test_biz_id","order_id":"o\ud800"}""", "order_id")]
    [InlineData("/cgi-bin/express/delivery/contact/get", "carrier", """{"token":"\ud800","waybill_id":"W1"}""", "token")]
    public async Task A_string_escaping_half_a_character_is_refused_with_47001_naming_it_not_answered_with_a_system_error(string path, string? caller, string body, string where)
    {
        var url = caller switch { "carrier" => $"{path}?access_token={carrierToken}", "merchant" => $"{path}?access_token={merchantToken}", _ => path };

        var reply = await server.PostRawAsync(url, Encoding.UTF8.GetBytes(body));

        WxAssert.Error(47001, reply, $@"data format error: {where} holds a \u escape of half a character (a surrogate without its pair)");
    }

    [Fact]
    public async Task An_admin_request_that_sends_a_field_twice_is_refused_with_400_naming_it()
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key")));

        using var replay = await client.PostAsync("/admin/push/replay", new StringContent("""{"merchant_appid":"wx0000000000000000","merchant_appid":"wx0000000000000001"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("merchant_appid is sent twice", JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_client_that_sends_slowly_does_not_hold_up_the_others()
    {
        var store = TestStore.Create(StoreKind.Sqlite);
        await using var process = await ServerProcess.StartAsync(store);
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, process.BaseAddress.Port);
        var stream = slow.GetStream();
        var headers = Encoding.ASCII.GetBytes($"POST /cgi-bin/express/delivery/path/update?access_token=x HTTP/1.1\r\nHost: {process.BaseAddress.Authority}\r\nContent-Length: 100000\r\n\r\n");
        await stream.WriteAsync(headers);

        using var client = new HttpClient { BaseAddress = process.BaseAddress };
        for (var i = 0; i < 20; i++)
        {
            await stream.WriteAsync("{"u8.ToArray());
            var started = DateTime.UtcNow;
            var answer = await client.GetStringAsync("/cgi-bin/token");
            Assert.Contains("errcode", answer);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "a normal request waited behind the slow one");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_body_whose_chunked_encoding_is_broken_is_answered_that_it_could_not_be_read_not_that_it_is_too_large()
    {
        var store = TestStore.Create(StoreKind.Sqlite);
        var carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        await using var process = await ServerProcess.StartAsync(store);
        using var client = new HttpClient { BaseAddress = process.BaseAddress };
        var accessToken = await CarrierUpdates.AccessTokenAsync(client, carrier);

        // Kestrel parses the chunked encoding; an HttpClient would not send it broken, so the bytes go on a socket.
        async Task<JsonElement> SendChunkedAsync(string path, string chunks)
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, process.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST {path} HTTP/1.1\r\nHost: {process.BaseAddress.Authority}\r\nContent-Type: application/json\r\n" +
                $"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunks}"));
            var answer = await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 200 OK", answer);
            return JsonDocument.Parse(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement;
        }

        var update = $"/cgi-bin/express/delivery/path/update?access_token={accessToken}";
        var badSize = await SendChunkedAsync(update, "zz\r\n{}\r\n0\r\n\r\n");
        Assert.Equal(47001, badSize.GetProperty("errcode").GetInt32());
        Assert.StartsWith("data format error: the request body could not be read: Bad chunk size data", badSize.GetProperty("errmsg").GetString());

        var stableToken = await SendChunkedAsync("/cgi-bin/stable_token", "2\r\n{}\r\nnot a size\r\n");
        Assert.Equal(47001, stableToken.GetProperty("errcode").GetInt32());
        Assert.DoesNotContain("larger than", stableToken.GetProperty("errmsg").GetString());

        // A well-formed chunked body is read as any other.
        var valid = await SendChunkedAsync(update, "2\r\n{}\r\n0\r\n\r\n");
        Assert.Equal(40097, valid.GetProperty("errcode").GetInt32());
    }
}
