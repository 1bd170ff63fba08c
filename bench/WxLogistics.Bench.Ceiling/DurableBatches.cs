using System.Threading.Channels;

namespace WxLogistics.Bench.Ceiling;

/// <summary>
/// Group commit at its barest: one writer thread takes everything waiting, commits it with one durable write, then
/// answers every caller. The ceilings' floors under any durable server; they share nothing with the server's store.
/// </summary>
abstract class DurableBatches<T>
{
    readonly Channel<(T Item, TaskCompletionSource Done)> queue = Channel.CreateUnbounded<(T, TaskCompletionSource)>(
        new UnboundedChannelOptions { SingleReader = true });

    protected void Start(string name) => new Thread(Run) { IsBackground = true, Name = name }.Start();

    public Task AppendAsync(T item)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Writer.TryWrite((item, done));
        return done.Task;
    }

    /// <summary>Makes every item durable, or throws.</summary>
    protected abstract void Commit(List<T> items);

    void Run()
    {
        var batch = new List<(T Item, TaskCompletionSource Done)>();
        var items = new List<T>();
        while (queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            items.Clear();
            while (queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }

            try
            {
                Commit(items);
                batch.ForEach(p => p.Done.TrySetResult());
            }
            catch (Exception e)
            {
                batch.ForEach(p => p.Done.TrySetException(e));
            }
        }
    }
}
