using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Push;

/// <summary>
/// WeChat's message-push conventions: the signature query (sha1 of the sorted token, timestamp and nonce) and the
/// add_express_path event in XML (strings in CDATA) or JSON (../shared/spec/wechat-logistics.md §3).
/// </summary>
public static class MessagePush
{
    public static string Signature(string token, string timestamp, string nonce)
    {
        string[] parts = [token, timestamp, nonce];
        Array.Sort(parts, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
    }

    /// <summary>The push URL with signature, timestamp and nonce added to its query.</summary>
    public static string SignedUrl(string url, string token, long timestamp, string nonce)
    {
        var stamp = timestamp.ToString(CultureInfo.InvariantCulture);
        var separator = url.Contains('?') ? '&' : '?';
        return $"{url}{separator}signature={Signature(token, stamp, nonce)}&timestamp={stamp}&nonce={nonce}";
    }

    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// Posts <paramref name="message"/> to <paramref name="target"/>, signed for <paramref name="timestamp"/> and labelled
    /// with the target's format, and reads the answer's text, at most <paramref name="maxBytes"/> of it: a message server that
    /// answers with a large body (a misconfigured URL serving a file) must not fill this server's memory, as reading it
    /// whole would. The text is decoded in the charset the answer names (GBK and GB18030 too), UTF-8 when it names none.
    /// <see cref="Answer.Problem"/> says why there is no text (too large, an unknown charset, cut short); a connection
    /// that fails before the answer's headers throws as HttpClient does.
    /// </summary>
    public static async Task<Answer> PostAsync(
        HttpClient client, PushTarget target, byte[] message, long timestamp, int maxBytes, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(message);
        content.Headers.ContentType = new MediaTypeHeaderValue(target.Format == PushFormat.Json ? "application/json" : "text/xml")
        {
            CharSet = "utf-8",
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, SignedUrl(target.Url, target.Token, timestamp, NewNonce())) { Content = content };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        var limit = $"{maxBytes / 1024} KB";
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            return new Answer(status, null, $"HTTP {status} with an answer of {response.Content.Headers.ContentLength} bytes, larger than the {limit} read");
        }

        var charset = response.Content.Headers.ContentType?.CharSet?.Trim('"', ' ');
        Encoding encoding;
        try
        {
            encoding = string.IsNullOrEmpty(charset) ? Encoding.UTF8
                : CodePagesEncodingProvider.Instance.GetEncoding(charset) ?? Encoding.GetEncoding(charset);
        }
        catch (ArgumentException)
        {
            return new Answer(status, null, $"HTTP {status} with an answer in charset '{charset}', which this server does not know (UTF-8 is expected)");
        }

        var buffer = new byte[Math.Min(maxBytes + 1, 16 * 1024)];
        var received = new MemoryStream();
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (received.Length + read > maxBytes)
                {
                    return new Answer(status, null, $"HTTP {status} with an answer larger than the {limit} read");
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (IOException e)
        {
            // The connection ended before the answer did (read whole, HttpClient threw HttpRequestException for it).
            return new Answer(status, null, $"HTTP {status} with an answer cut short: {e.Message}");
        }

        return new Answer(status, Decode(received.GetBuffer().AsSpan(0, (int)received.Length), encoding), null);
    }

    /// <summary>
    /// The text of an answer: a byte order mark, as editors save files ("success" from a PHP page saved with one),
    /// says the encoding and is not part of it, as HttpClient's own reading of text has it; otherwise the charset's.
    /// </summary>
    static string Decode(ReadOnlySpan<byte> bytes, Encoding encoding)
    {
        foreach (var marked in (ReadOnlySpan<Encoding>)[Encoding.UTF8, Encoding.Unicode, Encoding.BigEndianUnicode])
        {
            if (bytes.StartsWith(marked.Preamble))
            {
                return marked.GetString(bytes[marked.Preamble.Length..]);
            }
        }

        return encoding.GetString(bytes);
    }

    /// <summary>A message server's answer: its HTTP status and text, or why the text was not read.</summary>
    public sealed record Answer(int Status, string? Text, string? Problem);

    /// <summary>The add_express_path event: the whole path so far, in time order, with its version.</summary>
    public sealed record ExpressPathEvent(
        string ToUserName, string FromUserName, long CreateTime, string DeliveryId, string WaybillId, string OrderId, long Version, IReadOnlyList<PathEvent> Actions);

    public static byte[] Json(ExpressPathEvent e)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("ToUserName", e.ToUserName);
            json.WriteString("FromUserName", e.FromUserName);
            json.WriteNumber("CreateTime", e.CreateTime);
            json.WriteString("MsgType", "event");
            json.WriteString("Event", "add_express_path");
            json.WriteString("DeliveryID", e.DeliveryId);
            json.WriteString("WayBillId", e.WaybillId);
            json.WriteString("OrderId", e.OrderId);
            json.WriteNumber("Version", e.Version);
            json.WriteNumber("Count", e.Actions.Count);
            json.WriteStartArray("Actions");
            foreach (var action in e.Actions)
            {
                json.WriteStartObject();
                json.WriteNumber("ActionTime", action.ActionTime);
                json.WriteNumber("ActionType", action.ActionType);
                json.WriteString("ActionMsg", action.ActionMsg);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static byte[] Xml(ExpressPathEvent e)
    {
        var xml = new StringBuilder(512 + (e.Actions.Count * 160));
        xml.Append("<xml>");
        xml.Append("<ToUserName>").Append(CData(e.ToUserName)).Append("</ToUserName>");
        xml.Append("<FromUserName>").Append(CData(e.FromUserName)).Append("</FromUserName>");
        xml.Append("<CreateTime>").Append(e.CreateTime.ToString(CultureInfo.InvariantCulture)).Append("</CreateTime>");
        xml.Append("<MsgType>").Append(CData("event")).Append("</MsgType>");
        xml.Append("<Event>").Append(CData("add_express_path")).Append("</Event>");
        xml.Append("<DeliveryID>").Append(CData(e.DeliveryId)).Append("</DeliveryID>");
        xml.Append("<WayBillId>").Append(CData(e.WaybillId)).Append("</WayBillId>");
        xml.Append("<OrderId>").Append(CData(e.OrderId)).Append("</OrderId>");
        xml.Append("<Version>").Append(e.Version.ToString(CultureInfo.InvariantCulture)).Append("</Version>");
        xml.Append("<Count>").Append(e.Actions.Count.ToString(CultureInfo.InvariantCulture)).Append("</Count>");
        foreach (var action in e.Actions)
        {
            xml.Append("<Actions>");
            xml.Append("<ActionTime>").Append(action.ActionTime.ToString(CultureInfo.InvariantCulture)).Append("</ActionTime>");
            xml.Append("<ActionType>").Append(action.ActionType.ToString(CultureInfo.InvariantCulture)).Append("</ActionType>");
            xml.Append("<ActionMsg>").Append(CData(action.ActionMsg)).Append("</ActionMsg>");
            xml.Append("</Actions>");
        }

        xml.Append("</xml>");
        return Encoding.UTF8.GetBytes(xml.ToString());
    }

    /// <summary>A CDATA section; a CDATA end marker inside the text is split across two sections.</summary>
    static string CData(string text) => "<![CDATA[" + text.Replace("]]>", "]]]]><![CDATA[>", StringComparison.Ordinal) + "]]>";
}
