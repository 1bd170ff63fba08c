namespace WxLogistics.Storage.Sqlite;

/// <summary>
/// One server per SQLite store. A server keeps recently read paths in memory and drops those its own appends change;
/// the operator verbs, which write beside it, count their commits for it (<see cref="PathCache"/>), but a second
/// server would not, and each would go on serving paths older than the other's appends. So the server holds a lock
/// on <see cref="FileName"/> in the data directory while it runs, and a second server on the same store is refused
/// at start. The operating system releases the lock when the process ends, however it ends.
/// </summary>
public sealed class ServerLock : IDisposable
{
    public const string FileName = "wxlogistics.db-server";

    readonly FileStream? file;

    ServerLock(FileStream? file) => this.file = file;

    /// <summary>Takes the lock of the SQLite store in <paramref name="dataDirectory"/>; nothing for another store.</summary>
    public static ServerLock Acquire(string store, string dataDirectory)
    {
        if (store != StoreFactory.Sqlite)
        {
            return new ServerLock(null);
        }

        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Linux and macOS, a share mode on Windows.
            return new ServerLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new IOException(
                $"another server is already running on the SQLite store in {Path.GetFullPath(dataDirectory)}: run one server per SQLite store " +
                "(operator verbs may run beside it), or share a PostgreSQL store between several (docs/scaling.md)");
        }
    }

    public void Dispose() => file?.Dispose();
}
