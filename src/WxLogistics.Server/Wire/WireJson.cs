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
    /// A request body read as a JSON object, or null with <paramref name="problem"/> (a 47001 errmsg): not JSON, not an
    /// object, or one of <see cref="BodyProblem"/>'s. Once it is read, every name and string in it can be read without
    /// an exception. The caller disposes it.
    /// </summary>
    public static JsonDocument? ParseObject(ReadOnlyMemory<byte> body, out string problem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            problem = "the body is not valid JSON";
            return null;
        }

        problem = document.RootElement.ValueKind != JsonValueKind.Object ? "the body must be a JSON object" : BodyProblem(document.RootElement) ?? "";
        if (problem.Length == 0)
        {
            return document;
        }

        document.Dispose();
        return null;
    }

    /// <summary>A name the caller chose, as an error shows it: its own text, of any length, cut to the first 64 characters.</summary>
    public static string Shown(string name) => name.Length > 64 ? name[..64] + "…" : name;

    /// <summary>
    /// What makes <paramref name="element"/> no request body: a name that an object gives twice (JSON does not say
    /// which of the two values counts, and parsers differ, so the wire refuses it rather than guess), or a name or string
    /// whose \u escape is half of a character (a surrogate without its pair), which no string can hold. Nested names are
    /// given as a path (<c>sender.name</c>, <c>cargo.detail_list[0].count</c>). Null when there is nothing wrong.
    /// </summary>
    public static string? BodyProblem(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return $"a name {(path.Length == 0 ? "" : $"in {path} ")}{HalfCharacter}";
                    }

                    var shown = Shown(name);
                    var at = path.Length == 0 ? shown : $"{path}.{shown}";
                    if (!names.Add(name))
                    {
                        return $"{at} is sent twice";
                    }

                    if (BodyProblem(property.Value, at) is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (BodyProblem(item, $"{path}[{index++}]") is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            case JsonValueKind.String:
                try
                {
                    element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return $"{(path.Length == 0 ? "the body" : path)} {HalfCharacter}";
                }

            default:
                return null;
        }
    }

    /// <summary>The end of the sentence that says a string's escape is not a whole character.</summary>
    public const string HalfCharacter = "holds a \\u escape of half a character (a surrogate without its pair); text must be whole Unicode characters";
}
