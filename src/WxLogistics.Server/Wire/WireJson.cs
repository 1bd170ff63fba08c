using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace WxLogistics.Wire;

/// <summary>JSON settings of the wire: UTF-8 text as is (WeChat does not escape Chinese), snake_case names.</summary>
public static class WireJson
{
    public static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.Create(UnicodeRanges.All);

    /// <summary>For JSON written by hand with a <see cref="Utf8JsonWriter"/>: the same text as the serializer's.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = Encoder };

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Encoder = Encoder,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
