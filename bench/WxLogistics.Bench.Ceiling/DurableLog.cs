using Microsoft.Win32.SafeHandles;

namespace WxLogistics.Bench.Ceiling;

/// <summary>
/// The cheapest durable append there is: every body waiting is written to one file in one call, and the file flushed
/// to disk once. No index, no de-duplication, no reading back: a floor for any server that answers only after the
/// event is on disk, not a store.
/// </summary>
/// <remarks>
/// The file is written full of zeros and flushed before the first request, and the bodies then overwrite it from its
/// start, going back to the start when they reach its end, as a database's write-ahead log that restarts after each
/// checkpoint does. A flush of a file that grows must also commit the file system's journal for the new size; here
/// (ext4) that makes each flush about 1.7 times as long as a flush of data written over blocks already on disk.
/// </remarks>
sealed class DurableLog : DurableBatches<byte[]>
{
    const int Size = 64 << 20;

    readonly SafeFileHandle file;
    readonly List<ReadOnlyMemory<byte>> buffers = [];
    long end;

    public DurableLog(string path)
    {
        file = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        var zeros = new byte[1 << 20];
        for (long offset = 0; offset < Size; offset += zeros.Length)
        {
            RandomAccess.Write(file, zeros, offset);
        }

        RandomAccess.FlushToDisk(file);
        Start("durable-log");
    }

    protected override void Commit(List<byte[]> bodies)
    {
        buffers.Clear();
        var length = 0L;
        foreach (var body in bodies)
        {
            buffers.Add(body);
            length += body.Length;
        }

        if (end + length > Size)
        {
            end = 0;
        }

        RandomAccess.Write(file, buffers, end);
        RandomAccess.FlushToDisk(file);
        end += length;
    }
}
