using System.Buffers;
using System.Text.Json;
using WxLogistics.Wire;

namespace WxLogistics.Storage;

/// <summary>
/// A path as getPath answers it in path_item_list: a JSON array of {action_time, action_type, action_msg}, in the
/// path's order, with its count. Rendering it took more than half of the getPath handler's CPU (bench/RESULTS.md, tenth
/// session), so a store that keeps paths in memory keeps this beside a path that is read again.
/// </summary>
public sealed class PathJson
{
    static readonly JsonEncodedText ActionTime = JsonEncodedText.Encode("action_time");
    static readonly JsonEncodedText ActionType = JsonEncodedText.Encode("action_type");
    static readonly JsonEncodedText ActionMsg = JsonEncodedText.Encode("action_msg");

    PathJson(int count, byte[] utf8)
    {
        Count = count;
        Utf8 = utf8;
    }

    /// <summary>How many events the path holds (path_item_num).</summary>
    public int Count { get; }

    /// <summary>The JSON array, UTF-8, written with the wire's settings (<see cref="WireJson"/>).</summary>
    public byte[] Utf8 { get; }

    public static PathJson Of(IReadOnlyList<PathEvent> path)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (path.Count * 112));
        using (var writer = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var e in path)
            {
                writer.WriteStartObject();
                writer.WriteNumber(ActionTime, e.ActionTime);
                writer.WriteNumber(ActionType, e.ActionType);
                writer.WriteString(ActionMsg, e.ActionMsg);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return new PathJson(path.Count, buffer.WrittenSpan.ToArray());
    }
}
