using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using WxLogistics.Cli;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>The operator verbs: one JSON object out, clear errors, and secrets that are shown once and stored hashed.</summary>
public abstract class OperatorVerbTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await OperatorCli.RunAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Adding_a_carrier_prints_its_appid_secret_role_and_delivery_id()
    {
        var json = await server.OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");

        Assert.Equal(["appid", "secret", "role", "delivery_id"], json.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^wx[0-9a-f]{16}$", json.GetProperty("appid").GetString());
        Assert.Matches("^[0-9a-f]{32}$", json.GetProperty("secret").GetString());
        Assert.Equal("carrier", json.GetProperty("role").GetString());
        Assert.Equal("SF", json.GetProperty("delivery_id").GetString());
    }

    [Fact]
    public async Task Adding_a_merchant_prints_its_appid_secret_and_role()
    {
        var json = await server.OperatorAsync("app", "add", "--role", "merchant", "--name", "Demo shop");

        Assert.Equal(["appid", "secret", "role"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("merchant", json.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Adding_a_waybill_without_an_id_generates_one_and_a_token_of_at_least_128_bits()
    {
        await server.AddCarrierAsync("SF");

        var json = await server.OperatorAsync("waybill", "add", "--delivery-id", "SF");

        Assert.Equal(["delivery_id", "waybill_id", "token"], json.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^[1-9][0-9]{17}$", json.GetProperty("waybill_id").GetString());
        Assert.True(json.GetProperty("token").GetString()!.Length * 6 >= 128);
    }

    [Fact]
    public async Task Secrets_and_tokens_are_stored_only_as_hashes()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF");
        var accessToken = await server.AccessTokenAsync(carrier);
        var stable = await server.PostJsonAsync("/cgi-bin/stable_token", new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret });
        await server.DisposeAsync();

        var everything = await server.Store.DumpAsync();

        Assert.Contains(carrier.AppId, everything);
        Assert.DoesNotContain(carrier.Secret, everything);
        Assert.DoesNotContain(waybill.Token, everything);
        Assert.DoesNotContain(accessToken, everything);
        Assert.DoesNotContain(stable.GetProperty("access_token").GetString()!, everything);
    }

    [Fact]
    public async Task Resetting_a_leaked_secret_stops_the_old_secret_and_every_token_the_app_holds_and_the_new_secret_gets_tokens()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF", waybillId: "RESET1");
        var time = 1_764_000_000L;
        Task<System.Text.Json.JsonElement> UpdateAsync(string accessToken) =>
            server.UpdatePathAsync(accessToken, new { token = waybill.Token, waybill_id = "RESET1", action_time = time++, action_type = 100001, action_msg = "揽件成功" });
        Task<System.Text.Json.JsonElement> StableTokenAsync(string secret) =>
            server.PostJsonAsync("/cgi-bin/stable_token", new { grant_type = "client_credential", appid = carrier.AppId, secret });
        var token = await server.AccessTokenAsync(carrier);
        var stable = (await StableTokenAsync(carrier.Secret)).GetProperty("access_token").GetString()!;
        WxAssert.Ok(await UpdateAsync(token));
        WxAssert.Ok(await UpdateAsync(stable));

        var (exitCode, output, error) = await RunAsync(["app", "reset-secret", "--appid", carrier.AppId, .. server.Store.Args]);

        Assert.Equal(0, exitCode);
        var reset = System.Text.Json.JsonDocument.Parse(output).RootElement;
        TestRun.RecordSecrets(reset);
        Assert.Equal(["appid", "secret"], reset.EnumerateObject().Select(p => p.Name));
        var secret = reset.GetProperty("secret").GetString()!;
        Assert.NotEqual(carrier.Secret, secret);
        Assert.Contains("its access_tokens stop working within 5 s", error);

        // The old secret gets no token, and the tokens it got stop working: each is read again within 5 s.
        Assert.Equal(40125, (await server.GetJsonAsync($"/cgi-bin/token?grant_type=client_credential&appid={carrier.AppId}&secret={carrier.Secret}")).GetProperty("errcode").GetInt32());
        Assert.Equal(40125, (await StableTokenAsync(carrier.Secret)).GetProperty("errcode").GetInt32());
        await Eventually.TrueAsync(
            async () => (await UpdateAsync(token)).GetProperty("errcode").GetInt32() == 40001 && (await UpdateAsync(stable)).GetProperty("errcode").GetInt32() == 40001,
            "both of the app's earlier tokens are refused");

        // The new secret gets both kinds again; the stable token is a new one.
        WxAssert.Ok(await UpdateAsync(await server.AccessTokenAsync(carrier with { Secret = secret })));
        var newStable = (await StableTokenAsync(secret)).GetProperty("access_token").GetString()!;
        Assert.NotEqual(stable, newStable);
        WxAssert.Ok(await UpdateAsync(newStable));
        Assert.Equal(1, (await RunAsync(["app", "reset-secret", "--appid", "wx0000000000000000", .. server.Store.Args])).ExitCode);
    }

    [Fact]
    public async Task No_token_asked_for_with_the_old_secret_while_it_is_reset_outlives_the_reset()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF", waybillId: "RESET2");
        var checkEvent = new { token = waybill.Token, waybill_id = "RESET2", action_time = 1_764_000_000L, action_type = 100001, action_msg = "揽件成功" };
        WxAssert.Ok(await server.UpdatePathAsync(await server.AccessTokenAsync(carrier), checkEvent));

        // Callers keep asking for both kinds of token with the secret until it is refused. A request whose secret was
        // checked just before the reset committed must not be issued a token the reset did not retire.
        var issued = new System.Collections.Concurrent.ConcurrentBag<string>();
        var askedOnce = new System.Collections.Concurrent.ConcurrentBag<int>();
        async Task AskUntilRefusedAsync(int caller)
        {
            for (var stable = caller % 2 == 0; ; stable = !stable)
            {
                var reply = stable
                    ? await server.PostJsonAsync("/cgi-bin/stable_token", new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret })
                    : await server.GetJsonAsync($"/cgi-bin/token?grant_type=client_credential&appid={carrier.AppId}&secret={carrier.Secret}");
                if (reply.TryGetProperty("errcode", out var errcode) && errcode.GetInt32() != 0)
                {
                    Assert.Equal(40125, errcode.GetInt32());
                    return;
                }

                issued.Add(reply.GetProperty("access_token").GetString()!);
                askedOnce.Add(caller);
                await Task.Delay(caller % 3);
            }
        }

        var callers = Enumerable.Range(0, 8).Select(caller => Task.Run(() => AskUntilRefusedAsync(caller))).ToArray();
        await Eventually.TrueAsync(() => Task.FromResult(askedOnce.Distinct().Count() == callers.Length), "every caller was issued a token");
        Assert.Equal(0, (await RunAsync(["app", "reset-secret", "--appid", carrier.AppId, .. server.Store.Args])).ExitCode);
        await Task.WhenAll(callers);

        var tokens = issued.Distinct().ToList();
        await Eventually.TrueAsync(
            async () =>
            {
                foreach (var token in tokens)
                {
                    if ((await server.UpdatePathAsync(token, checkEvent)).GetProperty("errcode").GetInt32() != 40001)
                    {
                        return false;
                    }
                }

                return true;
            },
            $"all {tokens.Count} tokens issued before the reset are refused");
    }

    [Fact]
    public async Task A_cloud_env_granted_an_api_this_server_does_not_serve_or_one_for_the_other_kind_of_app_is_made_with_a_warning_for_each()
    {
        var carrier = await server.AddCarrierAsync("SF");

        var (exitCode, output, error) = await RunAsync(
            ["cloudenv", "add", "--env", "prod-1", "--appid", carrier.AppId, "--permissions", "logistics.updatePath,logistics.updatPath,logistics.getPath", .. server.Store.Args]);

        Assert.Equal(0, exitCode);
        Assert.Equal("prod-1", System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("env").GetString());
        var warnings = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, warnings.Length);
        Assert.Equal($"warning: logistics.getPath is for merchant apps and {carrier.AppId} is a carrier: its calls will be refused with 48001", warnings[0]);
        Assert.StartsWith("warning: logistics.updatPath is not an API of this server, so no call of it will be served (logistics.addOrder, ", warnings[1]);

        // The list the warning names is what the server serves.
        Assert.Equal(
            server.Services.GetRequiredService<WxLogistics.Wire.WxApiCatalog>().Apis.Select(api => api.Name).Order(StringComparer.Ordinal),
            CloudEnvCommands.Apis.Select(api => api.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("a carrier needs --delivery-id", "app", "add", "--role", "carrier", "--name", "x")]
    [InlineData("--delivery-id is for carriers only", "app", "add", "--role", "merchant", "--delivery-id", "SF", "--name", "x")]
    [InlineData("must be 1 to 32 letters", "app", "add", "--role", "carrier", "--delivery-id", "S F", "--name", "x")]
    [InlineData("no carrier app has delivery_id ZTO", "waybill", "add", "--delivery-id", "ZTO")]
    [InlineData("--order-id and --openid go with --merchant-appid", "waybill", "add", "--delivery-id", "SF", "--order-id", "o")]
    [InlineData("--token must be 1 to 256 bytes without spaces or control characters", "waybill", "add", "--delivery-id", "SF", "--token", " ")]
    [InlineData("--token must be 1 to 256 bytes without spaces or control characters", "waybill", "add", "--delivery-id", "SF", "--token", "TOKEN\n")]
    [InlineData("is not a merchant app", "waybill", "add", "--delivery-id", "SF", "--merchant-appid", "wx0000000000000000")]
    [InlineData("service type 1 is given twice", "app", "services", "--appid", "wx0000000000000000", "--service-types", "1:标准快递,1:次日达")]
    [InlineData("--name must not hold control characters", "app", "add", "--role", "carrier", "--delivery-id", "YTO", "--name", "圆通\n速递")]
    [InlineData("--name must not hold control characters", "app", "add", "--role", "merchant", "--name", "shop\tone")]
    [InlineData("the name of service type 2 holds a control character", "app", "services", "--appid", "wx0000000000000000", "--service-types", "1:标准快递,2:次日\u0007达")]
    [InlineData("--push-url must not carry a user name or password", "app", "add", "--role", "merchant", "--name", "m", "--push-url", "https://shop:pa55word@shop.example.com/wx", "--push-token", "Token123")]
    [InlineData("--base-url 'https://track.example.com/?from=wx' must be an absolute http(s) URL without a query or #fragment", "waybill", "link", "--delivery-id", "SF", "--waybill-id", "W1", "--base-url", "https://track.example.com/?from=wx")]
    [InlineData("--push-url must not end in a #fragment", "app", "add", "--role", "merchant", "--name", "m", "--push-url", "https://shop.example.com/wx#push", "--push-token", "Token123")]
    [InlineData("--no-push removes the message server", "app", "set", "--appid", "wx0000000000000000", "--no-push", "--push-url", "http://127.0.0.1:9/wx")]
    [InlineData("--appid wx0000000000000000 is not an app of this server", "calls", "list", "--appid", "wx0000000000000000")]
    [InlineData("--merchant-appid wx0000000000000000 is not a merchant app of this server", "push", "list", "--merchant-appid", "wx0000000000000000")]
    [InlineData("--merchant-appid wx0000000000000000 is not a merchant app of this server", "push", "replay", "--merchant-appid", "wx0000000000000000")]
    public async Task A_bad_operator_request_fails_with_a_message_and_exit_code_1(string message, params string[] args)
    {
        await server.AddCarrierAsync("SF");

        var (exitCode, output, error) = await RunAsync([.. args, .. server.Store.Args]);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains(message, error);
    }

    [Theory]
    [InlineData("app", "list")]
    [InlineData("migrate")]
    [InlineData("waybill", "add", "--delivery-id", "SF")]
    [InlineData("path", "export")]
    [InlineData("calls", "list", "--appid", "wx0000000000000000")]
    [InlineData("backup", "-o", "copy.backup")]
    public async Task A_data_directory_that_is_a_file_fails_a_verb_with_one_line_not_a_stack_trace(params string[] args)
    {
        var file = Path.Combine(TempDirectory.Create(), "not-a-directory");
        await File.WriteAllTextAsync(file, "x");

        var (exitCode, output, error) = await RunAsync([.. args, "--data", file]);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Matches($"^error: (the data directory '{Regex.Escape(file)}' cannot be used: it is a file, not a directory|there is no SQLite store in {Regex.Escape(file)})$", error.Trim());
    }

    [Theory]
    [InlineData("--limit takes a whole number, not 'abc'", "waybill", "list", "--limit", "abc")]
    [InlineData("--hours takes a whole number, not '1.5'", "waybill", "link", "--delivery-id", "SF", "--waybill-id", "1", "--hours", "1.5")]
    [InlineData("--errcode takes a whole number, not 'ok'", "calls", "list", "--appid", "wx0000000000000000", "--errcode", "ok")]
    public async Task A_number_option_given_something_else_names_the_option_and_the_value_not_a_dotnet_type(string message, params string[] args)
    {
        var (exitCode, _, error) = await RunAsync([.. args, .. server.Store.Args]);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, error);
        Assert.DoesNotContain("System.Int32", error);
    }

    [Fact]
    public async Task A_cloud_env_prints_its_credentials_and_the_gateway_path()
    {
        var carrier = await server.AddCarrierAsync("SF");

        var json = await server.OperatorAsync("cloudenv", "add", "--env", "prod-1", "--appid", carrier.AppId, "--permissions", "logistics.updatePath,logistics.getPath", "--default");

        Assert.Equal(["env", "secretId", "secretKey", "gateway_path"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("prod-1", json.GetProperty("env").GetString());
        Assert.StartsWith("AKID", json.GetProperty("secretId").GetString());
        Assert.Equal(40, json.GetProperty("secretKey").GetString()!.Length);
        Assert.Equal("/tcb/admin", json.GetProperty("gateway_path").GetString());
    }

    [Theory]
    [InlineData("must be 1 to 40 of a-z", "Prod!", "logistics.updatePath")]
    [InlineData("is not of the form category.method", "prod", "updatePath")]
    [InlineData("--permissions names no API", "prod", " , ")]
    public async Task A_bad_cloud_env_is_refused_with_a_message(string message, string env, string permissions)
    {
        var carrier = await server.AddCarrierAsync("SF");

        var (exitCode, _, error) = await RunAsync(["cloudenv", "add", "--env", env, "--appid", carrier.AppId, "--permissions", permissions, .. server.Store.Args]);

        Assert.Equal(1, exitCode);
        Assert.Contains(message, error);
    }

    [Fact]
    public async Task A_cloud_env_needs_an_app_of_this_server_and_a_name_of_its_own()
    {
        var carrier = await server.AddCarrierAsync("SF");
        await server.OperatorAsync("cloudenv", "add", "--env", "prod", "--appid", carrier.AppId, "--permissions", "logistics.updatePath");

        var (unknownApp, _, unknownAppError) = await RunAsync(["cloudenv", "add", "--env", "other", "--appid", "wx0000000000000000", "--permissions", "logistics.updatePath", .. server.Store.Args]);
        var (twice, _, twiceError) = await RunAsync(["cloudenv", "add", "--env", "prod", "--appid", carrier.AppId, "--permissions", "logistics.updatePath", .. server.Store.Args]);

        Assert.Equal(1, unknownApp);
        Assert.Contains("is not an app of this server", unknownAppError);
        Assert.Equal(1, twice);
        Assert.Contains("env prod already exists", twiceError);
    }

    [Fact]
    public async Task A_second_carrier_with_the_same_delivery_id_is_refused()
    {
        await server.AddCarrierAsync("SF");

        var (exitCode, _, error) = await RunAsync(["app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "again", .. server.Store.Args]);

        Assert.Equal(1, exitCode);
        Assert.Contains("already exists", error);
    }

    [Fact]
    public async Task The_same_waybill_cannot_be_added_twice()
    {
        await server.AddCarrierAsync("SF");
        await server.AddWaybillAsync("SF", "W1");

        var (exitCode, _, error) = await RunAsync(["waybill", "add", "--delivery-id", "SF", "--waybill-id", "W1", .. server.Store.Args]);

        Assert.Equal(1, exitCode);
        Assert.Contains("already exists", error);
    }

    [Fact]
    public async Task An_unknown_role_is_refused_by_the_parser()
    {
        var (exitCode, _, error) = await RunAsync(["app", "add", "--role", "admin", "--name", "x", .. server.Store.Args]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("admin", error);
    }
}

public sealed class OperatorVerbTestsOnSqlite() : OperatorVerbTests(StoreKind.Sqlite);

public sealed class OperatorVerbTestsOnPostgres() : OperatorVerbTests(StoreKind.Postgres);
