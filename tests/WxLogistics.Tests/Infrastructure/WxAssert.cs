using System.Text.Json;
using System.Text.RegularExpressions;

namespace WxLogistics.Tests.Infrastructure;

public static partial class WxAssert
{
    /// <summary>Success is exactly {"errcode":0,"errmsg":"ok"}.</summary>
    public static void Ok(JsonElement reply) =>
        Assert.Equal("""{"errcode":0,"errmsg":"ok"}""", reply.GetRawText());

    /// <summary>An error: the code, and an errmsg that starts with the text and ends in WeChat's rid.</summary>
    public static string Error(int errcode, JsonElement reply, string? messageContains = null)
    {
        Assert.True(reply.TryGetProperty("errcode", out var code), reply.GetRawText());
        Assert.True(code.GetInt32() == errcode, $"expected errcode {errcode}, got {reply.GetRawText()}");
        var errmsg = reply.GetProperty("errmsg").GetString()!;
        Assert.Matches(Rid(), errmsg);
        if (messageContains is not null)
        {
            Assert.Contains(messageContains, errmsg);
        }

        return errmsg;
    }

    [GeneratedRegex(" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")]
    private static partial Regex Rid();
}
