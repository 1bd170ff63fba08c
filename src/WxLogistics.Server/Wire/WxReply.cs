using System.Security.Cryptography;
using System.Text.Json;

namespace WxLogistics.Wire;

/// <summary>
/// What an API call answers: an error (errcode, errmsg with rid) or success with an optional payload.
/// Handlers return this; the HTTPS edge and the cloud gateway turn it into their own wire forms.
/// </summary>
public sealed class WxReply
{
    static readonly byte[] OkBytes = """{"errcode":0,"errmsg":"ok"}"""u8.ToArray();

    readonly byte[]? payload;
    readonly IReadOnlyDictionary<string, object?>? extra;

    WxReply(int errCode, string errMsg, string? reason, byte[]? payload, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ErrCode = errCode;
        ErrMsg = errMsg;
        Reason = reason;
        this.payload = payload;
        this.extra = extra;
    }

    public static WxReply Ok { get; } = new(0, "ok", null, null);

    public int ErrCode { get; }

    public string ErrMsg { get; }

    /// <summary>The specific reason behind an error, without the rid.</summary>
    public string? Reason { get; }

    public bool IsSuccess => ErrCode == 0;

    public static WxReply Error(WxError error, string? detail = null)
    {
        var reason = detail is null ? error.Text : $"{error.Text}: {detail}";
        return new WxReply(error.Code, $"{reason} rid: {NewRid()}", reason, null);
    }

    /// <summary>
    /// An error whose reason is the operator's business, not the caller's (the store could not commit): the errmsg is
    /// WeChat's text alone, and the reason goes only to the call inspector.
    /// </summary>
    public static WxReply ErrorForOperator(WxError error, string reason) =>
        new(error.Code, $"{error.Text} rid: {NewRid()}", $"{error.Text}: {reason}", null);

    /// <summary>An error that carries more fields beside errcode and errmsg (addOrder's delivery_resultcode …).</summary>
    public static WxReply Error(WxError error, string? detail, IReadOnlyDictionary<string, object?> extra)
    {
        var reply = Error(error, detail);
        return new WxReply(reply.ErrCode, reply.ErrMsg, reply.Reason, null, extra);
    }

    /// <summary>Success with a payload: the payload object is the whole body, as in WeChat's read APIs.</summary>
    public static WxReply Success<T>(T payload) =>
        new(0, "ok", null, JsonSerializer.SerializeToUtf8Bytes(payload, WireJson.Options));

    /// <summary>Success with a payload already written as JSON, the whole body.</summary>
    public static WxReply SuccessJson(byte[] json) => new(0, "ok", null, json);

    /// <summary>The JSON body of the HTTPS API.</summary>
    public byte[] ToJsonBytes()
    {
        if (payload is not null)
        {
            return payload;
        }

        if (ErrCode == 0)
        {
            return OkBytes;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("errcode", ErrCode);
            writer.WriteString("errmsg", ErrMsg);
            foreach (var (name, value) in extra ?? new Dictionary<string, object?>())
            {
                writer.WritePropertyName(name);
                JsonSerializer.Serialize(writer, value, WireJson.Options);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public IResult ToHttpResult() => Results.Bytes(ToJsonBytes(), "application/json; charset=utf-8");

    /// <summary>WeChat's request id: three groups of eight hex digits, the first one the time.</summary>
    public static string NewRid()
    {
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        var seconds = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return $"{seconds:x8}-{BitConverter.ToUInt32(random):x8}-{BitConverter.ToUInt32(random[4..]):x8}";
    }
}
