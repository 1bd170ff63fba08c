using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace WxLogistics.Bench.Ceiling;

/// <summary>
/// The cheapest durable append there is: one writer thread takes every body waiting, writes them to the end of one
/// file in one call and flushes it to disk once, then answers them all. No index, no de-duplication, no reading back:
/// a floor for any server that answers only after the event is on disk, not a store.
/// </summary>
sealed class DurableLog
{
    readonly SafeFileHandle file;
    readonly Channel<(byte[] Body, TaskCompletionSource Done)> queue = Channel.CreateUnbounded<(byte[], TaskCompletionSource)>(
        new UnboundedChannelOptions { SingleReader = true });

    public DurableLog(string path)
    {
        file = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        new Thread(Run) { IsBackground = true, Name = "durable-log" }.Start();
    }

    public Task AppendAsync(byte[] body)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Writer.TryWrite((body, done));
        return done.Task;
    }

    void Run()
    {
        var batch = new List<(byte[] Body, TaskCompletionSource Done)>();
        var buffers = new List<ReadOnlyMemory<byte>>();
        long end = 0;
        while (queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            buffers.Clear();
            var offset = end;
            while (queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                buffers.Add(pending.Body);
                end += pending.Body.Length;
            }

            try
            {
                RandomAccess.Write(file, buffers, offset);
                RandomAccess.FlushToDisk(file);
                batch.ForEach(p => p.Done.TrySetResult());
            }
            catch (IOException e)
            {
                batch.ForEach(p => p.Done.TrySetException(e));
            }
        }
    }
}
