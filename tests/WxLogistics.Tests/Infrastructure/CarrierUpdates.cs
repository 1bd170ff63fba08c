using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>
/// A carrier sending updatePath for one waybill to a server process, one event a call, as a carrier that retries keeps
/// sending while the store fails: each answer must be ok or WeChat's system error, and the acknowledged events are kept
/// for the check that every one of them is stored.
/// </summary>
public sealed class CarrierUpdates(HttpClient client, string url, string waybillToken, string waybillId, Func<long, string> message)
{
    /// <summary>The action_time of every event answered ok, in the order sent.</summary>
    public List<long> Acknowledged { get; } = [];

    /// <summary>How many were answered with the system error.</summary>
    public int Failed { get; private set; }

    /// <summary>Takes the carrier's access_token (<paramref name="carrier"/>: the JSON of `app add`, with its appid and secret).</summary>
    /// <param name="client">A client of the server.</param>
    /// <param name="carrier">The JSON of `app add` for the carrier.</param>
    /// <param name="waybillToken">The waybill's token.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <param name="message">The action_msg of the event at a given action_time.</param>
    public static async Task<CarrierUpdates> StartAsync(HttpClient client, JsonElement carrier, string waybillToken, string waybillId, Func<long, string> message) =>
        new(client, $"/cgi-bin/express/delivery/path/update?access_token={await AccessTokenAsync(client, carrier)}", waybillToken, waybillId, message);

    /// <summary>An access_token of the app (the JSON of `app add`) from the server, remembered as a secret.</summary>
    public static async Task<string> AccessTokenAsync(HttpClient client, JsonElement app)
    {
        var issued = await client.GetFromJsonAsync<JsonElement>(
            $"/cgi-bin/token?grant_type=client_credential&appid={app.GetProperty("appid")}&secret={app.GetProperty("secret")}");
        TestRun.RecordSecrets(issued);
        return issued.GetProperty("access_token").GetString()!;
    }

    /// <summary>Sends the event of <paramref name="actionTime"/>; returns its errcode, 0 or -1.</summary>
    public async Task<int> SendAsync(long actionTime)
    {
        using var response = await client.PostAsJsonAsync(url, new
        {
            token = waybillToken,
            waybill_id = waybillId,
            action_time = actionTime,
            action_type = 200001,
            action_msg = message(actionTime),
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errcode = reply.GetProperty("errcode").GetInt32();
        if (errcode == 0)
        {
            Acknowledged.Add(actionTime);
        }
        else
        {
            Failed++;
            Assert.Equal(-1, errcode);
            Assert.StartsWith("system error rid: ", reply.GetProperty("errmsg").GetString());
        }

        return errcode;
    }
}
