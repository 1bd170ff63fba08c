using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace WxLogistics.DeliveryPath;

/// <summary>
/// The updatePath body as sent, before any field is judged. Parsing only fails for what WeChat's gateway rejects
/// with 47001: not a JSON object, or a field of the wrong JSON type.
/// </summary>
public sealed class UpdatePathRequest
{
    public string? Token { get; private set; }

    public string? WaybillId { get; private set; }

    public long? ActionTime { get; private set; }

    /// <summary>action_time was a number, but not an integer that fits in 64 bits.</summary>
    public bool ActionTimeNotInteger { get; private set; }

    public long? ActionType { get; private set; }

    public bool ActionTypeNotInteger { get; private set; }

    public string? ActionMsg { get; private set; }

    /// <summary>
    /// What is wrong with the body's text, judged after the auth checks: bytes that are not UTF-8, or a field whose
    /// \u escape is half of a character (a surrogate without its pair). Null when it is text.
    /// </summary>
    public string? InvalidText { get; private set; }

    /// <summary>The event it sends, once its fields are valid (PathUpdates.Validate).</summary>
    public Storage.PathEvent ToEvent() => new(ActionTime!.Value, (int)ActionType!.Value, ActionMsg!);

    static readonly string[] FieldNames = ["", "token", "waybill_id", "action_msg", "action_time", "action_type"];

    public static bool TryParse(ReadOnlySpan<byte> body, out UpdatePathRequest request, out string problem)
    {
        request = new UpdatePathRequest();
        if (!Utf8.IsValid(body))
        {
            // Read it as far as it goes so that the auth checks come first; the text is judged later (40097).
            request.InvalidText = "the body is not valid UTF-8; action_msg must be UTF-8 text";
            body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body));
        }

        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "the body must be a JSON object";
                return false;
            }

            var sent = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("token"u8) ? 1
                    : reader.ValueTextEquals("waybill_id"u8) ? 2
                    : reader.ValueTextEquals("action_msg"u8) ? 3
                    : reader.ValueTextEquals("action_time"u8) ? 4
                    : reader.ValueTextEquals("action_type"u8) ? 5
                    : 0;
                if (field != 0 && (sent & (1 << field)) != 0)
                {
                    // JSON does not say which of the two counts, and parsers differ: refused rather than guessed.
                    problem = $"{FieldNames[field]} is sent twice";
                    return false;
                }

                sent |= 1 << field;
                reader.Read();
                if (field == 1)
                {
                    request.Token = request.ReadString(ref reader, "token", out problem);
                }
                else if (field == 2)
                {
                    request.WaybillId = request.ReadString(ref reader, "waybill_id", out problem);
                }
                else if (field == 3)
                {
                    request.ActionMsg = request.ReadString(ref reader, "action_msg", out problem);
                }
                else if (field == 4)
                {
                    request.ActionTime = ReadInteger(ref reader, "action_time", out var notInteger, out problem);
                    request.ActionTimeNotInteger = notInteger;
                }
                else if (field == 5)
                {
                    request.ActionType = ReadInteger(ref reader, "action_type", out var notInteger, out problem);
                    request.ActionTypeNotInteger = notInteger;
                }
                else
                {
                    reader.Skip();
                    problem = "";
                }

                if (problem.Length > 0)
                {
                    return false;
                }
            }

            // Nothing may follow the object.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                problem = "the body is not valid JSON";
                return false;
            }
        }
        catch (JsonException)
        {
            problem = "the body is not valid JSON";
            return false;
        }

        problem = "";
        return true;
    }

    string? ReadString(ref Utf8JsonReader reader, string field, out string problem)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            problem = "";
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            problem = $"{field} must be a string";
            return null;
        }

        problem = "";
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            InvalidText ??= $"{field} {Wire.WireJson.HalfCharacter}";
            return "";
        }
    }

    static long? ReadInteger(ref Utf8JsonReader reader, string field, out bool notInteger, out string problem)
    {
        notInteger = false;
        problem = "";
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            reader.Skip();
            problem = $"{field} must be a number";
            return null;
        }

        if (reader.TryGetInt64(out var value))
        {
            return value;
        }

        notInteger = true;
        return null;
    }
}
