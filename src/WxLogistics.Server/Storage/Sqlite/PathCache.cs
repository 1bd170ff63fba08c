using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using WxLogistics.Apps;

namespace WxLogistics.Storage.Sqlite;

/// <summary>
/// Recently read paths, kept in memory so that getPath and the tracking page need not read SQLite again (the read
/// cost about 40 µs of the server's CPU per request, half of a getPath's).
///
/// A path is never served older than its last commit:
/// <list type="bullet">
/// <item>this process's appends drop the changed paths before their callers are answered, and a read that overlapped
/// an append does not keep what it read;</item>
/// <item>other processes on the same store (the operator verbs, <c>path import</c>) count each commit that changed a
/// path in a small file beside the database, <see cref="FileName"/>, shared by memory mapping. Every read compares
/// that count with the last one this process accounted for, a memory read rather than a system call, and forgets
/// every path when another process has written.</item>
/// </list>
/// </summary>
sealed unsafe class PathCache
{
    public const string FileName = "wxlogistics.db-paths";

    /// <summary>
    /// About 2 KB each for paths of 20 events, and as much again for the getPath JSON of a path served from memory
    /// (<see cref="CachedPath"/>). 10,000 raised the peak memory of the 10 M-event benchmark, whose reads
    /// are spread over 500,000 waybills, from 210 to 267 MB (bench/RESULTS.md).
    /// </summary>
    public const int MaxEntries = 4_096;

    /// <summary>Longer paths are read from SQLite each time rather than held.</summary>
    public const int MaxEventsPerPath = 200;

    readonly BoundedMap<WaybillKey, CachedPath> paths = new(MaxEntries);
    readonly Lock gate = new();
    // The count stays mapped as long as the process lives (a few bytes for each store opened), even after its store
    // is disposed: a read that raced the disposal must never touch memory that was unmapped under it.
    readonly MemoryMappedFile file;
    readonly MemoryMappedViewAccessor view;
    readonly long* changes;

    /// <summary>The shared count of path commits up to which this cache has dropped what changed.</summary>
    long accounted;

    /// <summary>Moves whenever paths are dropped, so that a read that overlapped it does not keep what it read.</summary>
    long epoch;

    PathCache(MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        this.file = file;
        this.view = view;
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        changes = (long*)(start + view.PointerOffset);
        accounted = Volatile.Read(ref *changes);
    }

    /// <summary>The cache of the store in <paramref name="dataDirectory"/>, or null when its count file cannot be used.</summary>
    public static PathCache? Open(string dataDirectory)
    {
        MemoryMappedFile? file = null;
        try
        {
            var path = Path.Combine(dataDirectory, FileName);
            using (var created = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                // A new count is written, not only sized: mapping would size it with a hole, and on a full disk the
                // first store to a page without a block kills the process (SIGBUS) where this write throws.
                if (created.Length < sizeof(long))
                {
                    created.Write(new byte[sizeof(long)]);
                    created.Flush(flushToDisk: true);
                }
                else if (OperatingSystem.IsLinux() && Allocate((int)created.SafeFileHandle.DangerousGetHandle(), 0, sizeof(long)) is var error and not 0)
                {
                    // A count made with a hole by an earlier version: given its block now, or refused as a new one is.
                    throw new IOException($"cannot allocate {path}: {new System.ComponentModel.Win32Exception(error).Message}");
                }
            }

            file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, sizeof(long), MemoryMappedFileAccess.ReadWrite);
            return new PathCache(file, file.CreateViewAccessor(0, sizeof(long), MemoryMappedFileAccess.ReadWrite));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            return null;
        }
    }

    /// <summary>posix_fallocate: gives the range blocks where it has none, or answers ENOSPC; the data is left as it is.</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "posix_fallocate")]
    static extern int Allocate(int fd, long offset, long length);

    /// <summary>How many paths are kept now.</summary>
    public int Count => paths.Count;

    /// <summary>
    /// The path, when it is in memory and nothing changed it since it was read; else false, with the ticket to give
    /// <see cref="Keep"/> along with the path read from the store.
    /// </summary>
    public bool TryGet(WaybillKey key, out CachedPath path, out long ticket)
    {
        if (Volatile.Read(ref *changes) != Volatile.Read(ref accounted))
        {
            lock (gate)
            {
                // Another process wrote paths: which ones, we cannot know.
                if (Volatile.Read(ref *changes) is var now && now != accounted)
                {
                    ForgetAll();
                    accounted = now;
                }
            }
        }

        ticket = Volatile.Read(ref epoch);
        return paths.TryGetValue(key, out path!);
    }

    /// <summary>Keeps a path read from the store, unless paths changed while it was read (then the next read reads again).</summary>
    public void Keep(WaybillKey key, IReadOnlyList<PathEvent> path, long ticket)
    {
        if (path.Count > MaxEventsPerPath)
        {
            return;
        }

        lock (gate)
        {
            // A commit of another process meanwhile needs no check here: the next TryGet sees it and forgets all.
            if (epoch == ticket)
            {
                paths.Set(key, new CachedPath(path));
            }
        }
    }

    /// <summary>
    /// After a commit of this process that changed <paramref name="changed"/>, before its callers are answered: drops
    /// those paths and counts the commit for the other processes.
    /// </summary>
    public void Changed(IEnumerable<WaybillKey> changed)
    {
        lock (gate)
        {
            epoch++;
            foreach (var key in changed)
            {
                paths.Remove(key);
            }

            var now = Interlocked.Increment(ref Unsafe.AsRef<long>(changes));
            if (now != accounted + 1)
            {
                // Another process wrote since we last looked.
                ForgetAll();
            }

            accounted = now;
        }
    }

    void ForgetAll()
    {
        epoch++;
        paths.Clear();
    }
}

/// <summary>
/// A path kept in memory, and its getPath JSON once it has been served from memory: a path read once (most of them,
/// when reads are spread over many waybills) costs no memory for it.
/// </summary>
sealed class CachedPath(IReadOnlyList<PathEvent> events)
{
    PathJson? json;

    public IReadOnlyList<PathEvent> Events => events;

    /// <summary>Made at its first use; two readers racing may both make it, the same, and either is kept.</summary>
    public PathJson Json => json ??= PathJson.Of(events);
}
