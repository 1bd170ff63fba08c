using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace WxLogistics.Client;

/// <summary>
/// Sends API calls with a cached access_token: obtained on first use, renewed before it expires, and renewed once more
/// and the call retried when the server answers 40001 (replaced) or 42001 (expired). Calls that fail together with the
/// same token renew it once between them: each fetch of /cgi-bin/token counts against the app's daily quota and
/// retires the token other processes of the app hold.
/// </summary>
sealed class ApiConnection(HttpClient http, WxLogisticsClientOptions options)
{
    readonly SemaphoreSlim tokenLock = new(1, 1);

    /// <summary>The token held, read without the lock: a reference, so that a reader never sees half of a renewal.</summary>
    volatile HeldToken? cached;

    /// <summary>
    /// Posts <paramref name="body"/> without its null fields: an optional field not given (getPath's order_id) is left
    /// out, as WeChat's examples leave it, rather than sent as null, which a strict server may refuse as the wrong type.
    /// </summary>
    public Task<JsonObject> PostAsync(string api, string path, JsonObject body, CancellationToken cancellationToken)
    {
        foreach (var name in body.Where(field => field.Value is null).Select(field => field.Key).ToList())
        {
            body.Remove(name);
        }

        return SendAsync(api, token => http.PostAsJsonAsync(WithToken(path, token), body, cancellationToken), cancellationToken);
    }

    public Task<JsonObject> GetAsync(string api, string path, CancellationToken cancellationToken) =>
        SendAsync(api, token => http.GetAsync(WithToken(path, token), cancellationToken), cancellationToken);

    Uri WithToken(string path, string token) => At($"{path}?access_token={Uri.EscapeDataString(token)}");

    /// <summary>
    /// <paramref name="pathAndQuery"/> (from /cgi-bin/…) under the base address, its own path included: a server behind
    /// a proxy at https://gateway.example.com/wx/ is called at /wx/cgi-bin/….
    /// </summary>
    Uri At(string pathAndQuery) => new(options.BaseAddress.GetLeftPart(UriPartial.Path).TrimEnd('/') + pathAndQuery);

    async Task<JsonObject> SendAsync(string api, Func<string, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        string? refused = null;
        for (var attempt = 0; ; attempt++)
        {
            var token = await TokenAsync(refused, cancellationToken);
            using var response = await send(token);
            var answer = await ReadAsync(response, api, cancellationToken);
            var errcode = ErrorCode(answer);
            if (errcode is 40001 or 42001 && attempt == 0)
            {
                refused = token;
                continue;
            }

            if (errcode == 0)
            {
                return answer;
            }

            var errmsg = answer["errmsg"]?.GetValue<string>() ?? "";
            throw answer["delivery_resultcode"] is JsonValue resultCode && resultCode.TryGetValue<int>(out var carrierCode)
                ? new WxLogisticsDeliveryException(errcode, errmsg, api, carrierCode, ApiConnection.Text(answer, "delivery_resultmsg"))
                : new WxLogisticsApiException(errcode, errmsg, api);
        }
    }

    /// <summary>The token to call with; a new one when <paramref name="refused"/> (a token the server refused) is still the one held.</summary>
    async Task<string> TokenAsync(string? refused, CancellationToken cancellationToken)
    {
        var now = options.TimeProvider.GetUtcNow();
        if (Usable(cached, refused, now) is { } held)
        {
            return held;
        }

        await tokenLock.WaitAsync(cancellationToken);
        try
        {
            // Another call may have renewed it while this one waited.
            if (Usable(cached, refused, now) is { } renewed)
            {
                return renewed;
            }

            var forceRenew = refused is not null && cached?.Token == refused;

            HttpResponseMessage response;
            if (options.UseStableToken)
            {
                // A forced stable_token would retire the token for every other holder: only after the server refused it.
                response = await http.PostAsJsonAsync(
                    At("/cgi-bin/stable_token"),
                    new { grant_type = "client_credential", appid = options.AppId, secret = options.AppSecret, force_refresh = forceRenew },
                    cancellationToken);
            }
            else
            {
                response = await http.GetAsync(
                    At($"/cgi-bin/token?grant_type=client_credential&appid={Uri.EscapeDataString(options.AppId)}&secret={Uri.EscapeDataString(options.AppSecret)}"),
                    cancellationToken);
            }

            using (response)
            {
                var answer = await ReadAsync(response, "access_token", cancellationToken);
                if (answer["access_token"]?.GetValue<string>() is not { Length: > 0 } token)
                {
                    throw new WxLogisticsApiException(ErrorCode(answer), answer["errmsg"]?.GetValue<string>() ?? "no access_token in the answer", "access_token");
                }

                var lifetime = TimeSpan.FromSeconds(answer["expires_in"]?.GetValue<int>() ?? 7200);
                cached = new HeldToken(token, now + lifetime - (lifetime > options.RefreshBeforeExpiry ? options.RefreshBeforeExpiry : lifetime / 2));
                return token;
            }
        }
        finally
        {
            tokenLock.Release();
        }
    }

    /// <summary>The held token, unless it is due for renewal or it is the one the server refused.</summary>
    static string? Usable(HeldToken? held, string? refused, DateTimeOffset now) =>
        held is not null && now < held.RenewAt && held.Token != refused ? held.Token : null;

    sealed record HeldToken(string Token, DateTimeOffset RenewAt);

    static async Task<JsonObject> ReadAsync(HttpResponseMessage response, string api, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{api}: HTTP {(int)response.StatusCode}", null, response.StatusCode);
        }

        try
        {
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject
                ?? throw new WxLogisticsApiException(-1, "the answer is not a JSON object", api);
        }
        catch (JsonException e)
        {
            throw new WxLogisticsApiException(-1, $"the answer is not JSON: {e.Message}", api);
        }
    }

    /// <summary>A string field of an answer; empty when it is missing or not a string.</summary>
    internal static string Text(JsonObject answer, string name) =>
        answer[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : "";

    static int ErrorCode(JsonObject answer) => answer["errcode"]?.GetValue<int>() ?? 0;
}
