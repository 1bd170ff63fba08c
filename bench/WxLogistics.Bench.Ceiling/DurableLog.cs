using Microsoft.Win32.SafeHandles;

namespace WxLogistics.Bench.Ceiling;

/// <summary>
/// The cheapest durable append there is: every body waiting is written to the end of one file in one call, and the
/// file flushed to disk once. No index, no de-duplication, no reading back: a floor for any server that answers only
/// after the event is on disk, not a store.
/// </summary>
sealed class DurableLog : DurableBatches<byte[]>
{
    readonly SafeFileHandle file;
    readonly List<ReadOnlyMemory<byte>> buffers = [];
    long end;

    public DurableLog(string path)
    {
        file = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        Start("durable-log");
    }

    protected override void Commit(List<byte[]> bodies)
    {
        buffers.Clear();
        var offset = end;
        foreach (var body in bodies)
        {
            buffers.Add(body);
            end += body.Length;
        }

        RandomAccess.Write(file, buffers, offset);
        RandomAccess.FlushToDisk(file);
    }
}
