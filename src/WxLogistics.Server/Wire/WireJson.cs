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

    /// <summary>
    /// The first name that an object in <paramref name="element"/> gives twice, as a path for a nested one
    /// (<c>sender.name</c>, <c>cargo.detail_list[0].name</c>), or null. JSON does not say which of the two values
    /// counts, and parsers differ, so the wire refuses such a body (47001) rather than guess.
    /// </summary>
    public static string? RepeatedName(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var name = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    if (!names.Add(property.Name))
                    {
                        return name;
                    }

                    if (RepeatedName(property.Value, name) is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (RepeatedName(item, $"{path}[{index++}]") is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            default:
                return null;
        }
    }
}
