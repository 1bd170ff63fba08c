using System.Text.Json;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>The executable as the README runs it: serve with --urls and --data, or refuse a bad setting plainly.</summary>
public sealed class ServerStartupTests
{
    [Fact]
    public async Task The_server_serves_on_the_given_url_with_SQLite_in_the_given_data_directory()
    {
        var data = Path.Combine(TempDirectory.Create(), "fresh", "data");
        var (_, carrierJson, _) = await ServerProcess.RunToEndAsync("app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运", "--data", data);
        var carrier = JsonDocument.Parse(carrierJson).RootElement;

        await using var server = await ServerProcess.StartAsync(data);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var reply = await client.GetStringAsync($"/cgi-bin/token?grant_type=client_credential&appid={carrier.GetProperty("appid")}&secret={carrier.GetProperty("secret")}");

        Assert.Contains("\"expires_in\":7200", reply);
        Assert.True(File.Exists(Path.Combine(data, "wxlogistics.db")));
    }

    [Fact]
    public async Task A_second_server_on_the_same_SQLite_store_is_refused_while_operator_verbs_run_beside_the_first()
    {
        var store = TestStore.Create(StoreKind.Sqlite);
        await using (var first = await ServerProcess.StartAsync(store))
        {
            var (exitCode, output, error) = await ServerProcess.RunToEndAsync([.. store.Args, "--urls", "http://127.0.0.1:0"]);

            Assert.Equal(1, exitCode);
            Assert.Contains("another server is already running on the SQLite store in", error);
            Assert.Contains("run one server per SQLite store", error);
            Assert.DoesNotContain("Now listening", output);

            var carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
            using var client = new HttpClient { BaseAddress = first.BaseAddress };
            var reply = await client.GetStringAsync($"/cgi-bin/token?grant_type=client_credential&appid={carrier.GetProperty("appid")}&secret={carrier.GetProperty("secret")}");
            Assert.Contains("\"expires_in\":7200", reply);
            await first.KillAsync();
        }

        // However the first ended (here SIGKILL), the store takes a server again.
        await using var next = await ServerProcess.StartAsync(store);
    }

    [Fact]
    public async Task A_data_directory_that_is_a_file_stops_the_server_with_a_clear_message()
    {
        var file = Path.Combine(TempDirectory.Create(), "not-a-directory");
        await File.WriteAllTextAsync(file, "x");

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", file);

        Assert.Equal(2, exitCode);
        Assert.Contains("invalid configuration: the data directory", error);
        Assert.Contains("it is a file, not a directory", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("AccessTokenOverlapSeconds", "abc")]
    [InlineData("MinuteQuota", "99999999999")]
    [InlineData("DailyQuota", "1.5")]
    public async Task A_whole_number_setting_given_as_something_else_stops_the_server_saying_so_in_plain_words(string setting, string value)
    {
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(
            "--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), $"--WxLogistics:{setting}", value);

        Assert.Equal(2, exitCode);
        Assert.Contains($"invalid configuration: WxLogistics:{setting} must be a whole number, not '{value}'", error);
        Assert.DoesNotContain("System.Int32", error);
        Assert.DoesNotContain("Now listening", output);
    }

    [Fact]
    public async Task A_public_base_url_with_a_fragment_that_every_link_would_land_in_stops_the_server()
    {
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(
            "--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), "--WxLogistics:PublicBaseUrl", "https://track.example.com/#home");

        Assert.Equal(2, exitCode);
        Assert.Contains("WxLogistics:PublicBaseUrl 'https://track.example.com/#home' must be an absolute http(s) URL without a query or #fragment", error);
        Assert.DoesNotContain("Now listening", output);
    }

    [Fact]
    public async Task A_misspelled_option_stops_the_server_with_a_clear_message()
    {
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync("--dta", "x");

        Assert.Equal(2, exitCode);
        Assert.Contains("unknown option --dta", error);
    }

    [Fact]
    public async Task An_operator_verb_after_the_data_option_is_not_taken_for_the_server_and_says_where_it_goes()
    {
        var data = TempDirectory.Create();

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync("--data", data, "app", "add", "--role", "carrier", "--name", "x");

        Assert.Equal(2, exitCode);
        Assert.Contains("'app' comes first", error);
        Assert.DoesNotContain("Now listening", output);
        Assert.False(File.Exists(Path.Combine(data, "wxlogistics.db")));
    }

    [Fact]
    public async Task A_stray_word_on_the_server_command_line_stops_it_with_a_clear_message()
    {
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), "verbose");

        Assert.Equal(2, exitCode);
        Assert.Contains("unexpected argument 'verbose'", error);
    }

    [Fact]
    public async Task An_address_that_cannot_be_bound_stops_the_server_with_a_clear_message()
    {
        var data = TempDirectory.Create();
        await using var first = await ServerProcess.StartAsync(data);

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync("--urls", first.BaseAddress.ToString(), "--data", TempDirectory.Create());

        Assert.Equal(1, exitCode);
        Assert.Contains("cannot start", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("http://127.0.0.1:99999", "99999")]
    [InlineData("http://127.0.0.1:0;http://127.0.0.1:70000", "70000")]
    [InlineData("http://127.0.0.1:8O8O", "8O8O")]
    [InlineData("http://[::1]:", "")]
    public async Task An_address_whose_port_is_not_a_port_stops_the_server_with_a_clear_message_before_it_binds_anything(string urls, string port)
    {
        var data = TempDirectory.Create();

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync("--urls", urls, "--data", data);

        // Kestrel ended with an unhandled exception on the first, and served the third on port 80 of every interface.
        Assert.Equal(2, exitCode);
        Assert.Contains($"invalid configuration: the port of {urls.Split(';')[^1]} is '{port}': a port is a number from 0 (any free port) to 65535", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Now listening", output);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("a key with spaces in it")]
    public async Task An_admin_key_too_short_to_be_safe_or_that_no_header_can_carry_stops_the_server(string key)
    {
        var data = TempDirectory.Create();

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", data, "--WxLogistics:AdminKey", key);

        Assert.Equal(2, exitCode);
        Assert.Contains("invalid configuration: WxLogistics:AdminKey must be at least 16 characters of A-Z, a-z, 0-9 and - . _ ~ + / =", error);
        Assert.DoesNotContain(key, error);
        Assert.DoesNotContain("Now listening", output);
    }

    [Fact]
    public async Task A_configured_admin_key_opens_the_admin_endpoints_and_no_key_file_is_made()
    {
        var data = TempDirectory.Create();
        const string key = "Zm9vYmFyYmF6cXV4LWFkbWluLWtleQ==";
        await using var server = await ServerProcess.StartAsync(data, "--WxLogistics:AdminKey", key);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        async Task<System.Net.HttpStatusCode> CallsWithAsync(string bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/calls?appid=wx0000000000000000");
            request.Headers.Authorization = new("Bearer", bearer);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        // 404: the key is taken, and the appid is no app of this server.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, await CallsWithAsync(key));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await CallsWithAsync(key[..^1]));
        Assert.False(File.Exists(Path.Combine(data, "admin.key")));
    }

    [Fact]
    public async Task A_PostgreSQL_server_that_does_not_answer_stops_the_server_with_a_clear_message()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(
            "--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(),
            "--store", "postgres", "--connection", $"Host=127.0.0.1;Port={closedPort};Username=wx;Database=wx");

        Assert.Equal(1, exitCode);
        Assert.Contains("cannot start", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task Operator_verbs_list_their_help()
    {
        var (exitCode, output, _) = await ServerProcess.RunToEndAsync("waybill", "add", "--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("--delivery-id", output);
        Assert.Contains("--data", output);
    }
}
