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
            var errcode = ErrorCode(answer, api);
            if (errcode is 40001 or 42001 && attempt == 0)
            {
                refused = token;
                continue;
            }

            if (errcode == 0)
            {
                return answer;
            }

            var errmsg = Text(answer, "errmsg");
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
                if (Text(answer, "access_token") is not { Length: > 0 } token)
                {
                    var errcode = ErrorCode(answer, "access_token");
                    throw new WxLogisticsApiException(
                        errcode == 0 ? -1 : errcode,
                        answer["errmsg"] is null ? "no access_token in the answer" : Text(answer, "errmsg"),
                        "access_token");
                }

                var lifetime = TimeSpan.FromSeconds(answer["expires_in"] switch
                {
                    null => 7200,
                    JsonValue value when value.TryGetValue<int>(out var seconds) && seconds > 0 => seconds,
                    var other => throw Malformed(other, "expires_in", "a positive whole number of seconds", "access_token"),
                });
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

    /// <summary>
    /// A whole-number field an answer must hold, between <paramref name="min"/> and <paramref name="max"/>; an answer
    /// without it, or with something else there, is not WeChat's and throws with errcode -1, naming the field by
    /// <paramref name="where"/> (such as <c>path_item_list[2].action_time</c>).
    /// </summary>
    internal static long Number(JsonObject node, string name, string where, string api, long min = int.MinValue, long max = int.MaxValue) =>
        !node.TryGetPropertyValue(name, out var field) ? throw Missing(where, api)
        : field is JsonValue value && value.TryGetValue<long>(out var number) && number >= min && number <= max ? number
        : throw Malformed(field, where, "a whole number" + (min == int.MinValue ? "" : $" from {min} to {max}"), api);

    /// <summary>A string field an answer must hold; see <see cref="Number"/>.</summary>
    internal static string RequiredText(JsonObject node, string name, string where, string api) =>
        !node.TryGetPropertyValue(name, out var field) ? throw Missing(where, api)
        : field is JsonValue value && value.TryGetValue<string>(out var text) ? text
        : throw Malformed(field, where, "a string", api);

    /// <summary>The error for an answer whose <paramref name="where"/> is <paramref name="node"/>, not <paramref name="expected"/>.</summary>
    internal static WxLogisticsApiException Malformed(JsonNode? node, string where, string expected, string api) =>
        new(-1, $"the answer's {where} is not {expected}: {Shown(node)}", api);

    static WxLogisticsApiException Missing(string where, string api) => new(-1, $"the answer has no {where}", api);

    /// <summary>The answer's errcode: 0 when it has none; an answer whose errcode is not a whole number is not WeChat's.</summary>
    static int ErrorCode(JsonObject answer, string api) =>
        !answer.TryGetPropertyValue("errcode", out var node) ? 0
        : node is JsonValue value && value.TryGetValue<int>(out var errcode) ? errcode
        : throw Malformed(node, "errcode", "a whole number", api);

    /// <summary>A field's JSON as it came (its text unescaped), cut to 64 characters for an error message.</summary>
    static string Shown(JsonNode? node)
    {
        var json = node?.ToJsonString(ShownJson) ?? "null";
        return json.Length <= 64 ? json : json[..64] + "…";
    }

    static readonly JsonSerializerOptions ShownJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
