using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace WxLogistics.Storage.Sqlite;

/// <summary>
/// A SQLite VFS that is the platform's own except for the WAL files it opens: their writes are gathered in memory
/// and reach the file in one system call (per 128 KB) when SQLite syncs the WAL, reads it, asks its size, truncates it, passes it a
/// file control or closes it.
/// SQLite writes each WAL frame as two writes, its header and then its page, and on this project's machines the
/// system call is what costs: 12–13 µs a frame written so in a loop, 0.3 µs a frame written 40 at a time
/// (bench/RESULTS.md, eighteenth session).
/// <para>
/// Nothing reaches the disk later than before: SQLite syncs the WAL at the end of every commit under
/// synchronous=FULL, before it makes the commit visible to other connections, and the sync writes what was gathered
/// first. So only connections that keep synchronous=FULL may open a database through it (under NORMAL or OFF, other
/// connections could see frames still held here); the store's writer connection is the one that does
/// (see <see cref="SqliteStore"/>).
/// </para>
/// <para>
/// A WAL file opened through this VFS is the platform VFS's own file object, followed by what this class keeps for
/// it; only its method table is replaced, by a copy of the platform's in which the seven methods above are ours. Every
/// other method is the platform's, called with the same object. Gathering follows SQLite's order of writes: a write
/// that does not continue the gathered ones writes those first.
/// </para>
/// </summary>
static unsafe partial class WalWriteGathering
{
    public const string VfsName = "wxlogistics-gather-wal";

    const int SqliteOk = 0;
    const int SqliteOpenWal = 0x00080000;

    /// <summary>
    /// At most what the platform VFS writes in one call: the Unix one keeps only the low 17 bits of a write's length
    /// (os_unix.c, seekAndWriteFd), so a longer write would be cut short and SQLite would report the disk full. That
    /// is 31 frames of 4 KB pages, a commit of 20–30 events; a larger commit is written in several.
    /// </summary>
    const int GatherBytes = 0x1ffff;

    static readonly Lock methodsLock = new();
    static Vfs* platform;
    static IoMethods* platformMethods;
    static IoMethods* gatheringMethods;
    static int stateOffset;

    static long gatheredWrites;
    static long fileWrites;

    /// <summary>WAL writes SQLite made through this VFS, and the writes of the file they became (for tests).</summary>
    internal static (long Gathered, long Written) Counts => (Interlocked.Read(ref gatheredWrites), Interlocked.Read(ref fileWrites));

    /// <summary>Whether the VFS could be registered; when not, the store opens its writer through the platform's VFS.</summary>
    public static bool IsRegistered { get; } = Register();

    /// <summary>The SQLite URI that opens the database file at <paramref name="path"/> through this VFS.</summary>
    public static string UriFor(string path)
    {
        // RFC 3986 escapes for the characters SQLite's URI parser treats specially in a path.
        var escaped = Path.GetFullPath(path).Replace('\\', '/').Replace("%", "%25").Replace("?", "%3f").Replace("#", "%23");
        return $"file:{(escaped.StartsWith('/') ? "" : "/")}{escaped}?vfs={VfsName}";
    }

    static bool Register()
    {
        // SqliteStore configures SQLite before anything initializes it; finding a VFS would initialize it.
        RuntimeHelpers.RunClassConstructor(typeof(SqliteStore).TypeHandle);
        try
        {
            var found = sqlite3_vfs_find(null);

            // Version 3 is the layout declared below, that of every platform VFS SQLite has shipped since 3.7; a later
            // version's further members are not copied, so ours says 3.
            if (found is null || found->iVersion < 3)
            {
                return false;
            }

            platform = found;
            stateOffset = (found->szOsFile + 7) & ~7;

            var vfs = (Vfs*)NativeMemory.AllocZeroed((nuint)sizeof(Vfs));
            *vfs = *found;
            vfs->iVersion = 3;
            vfs->pNext = null;
            vfs->zName = (byte*)Marshal.StringToCoTaskMemUTF8(VfsName);
            vfs->szOsFile = stateOffset + sizeof(Gathered);
            vfs->xOpen = (nint)(delegate* unmanaged[Cdecl]<Vfs*, byte*, File*, int, int*, int>)&Open;
            return sqlite3_vfs_register(vfs, 0) == SqliteOk;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Open(Vfs* vfs, byte* name, File* file, int flags, int* outFlags)
    {
        var rc = ((delegate* unmanaged[Cdecl]<Vfs*, byte*, File*, int, int*, int>)platform->xOpen)(platform, name, file, flags, outFlags);
        if (rc != SqliteOk || (flags & SqliteOpenWal) == 0 || file->pMethods is null)
        {
            return rc;
        }

        var methods = GatheringMethodsFor(file->pMethods);
        if (methods is null)
        {
            return rc;
        }

        // Allocated here, where failing only leaves the file as the platform opened it, and kept until it closes.
        byte* buffer;
        try
        {
            buffer = (byte*)NativeMemory.Alloc(GatherBytes);
        }
        catch (OutOfMemoryException)
        {
            return rc;
        }

        *StateOf(file) = new Gathered { buffer = buffer };
        file->pMethods = methods;
        return rc;
    }

    /// <summary>The platform's methods for WAL files with ours in place of seven, made once (null for another table).</summary>
    static IoMethods* GatheringMethodsFor(IoMethods* platformFileMethods)
    {
        lock (methodsLock)
        {
            if (gatheringMethods is null)
            {
                if (platformFileMethods->iVersion < 1 || platformFileMethods->iVersion > 3)
                {
                    return null;
                }

                var methods = (IoMethods*)NativeMemory.AllocZeroed((nuint)sizeof(IoMethods));
                *methods = *platformFileMethods;
                if (platformFileMethods->iVersion < 3)
                {
                    methods->xFetch = 0;
                    methods->xUnfetch = 0;
                }

                if (platformFileMethods->iVersion < 2)
                {
                    methods->xShmMap = methods->xShmLock = methods->xShmBarrier = methods->xShmUnmap = 0;
                }

                methods->xClose = (nint)(delegate* unmanaged[Cdecl]<File*, int>)&Close;
                methods->xRead = (nint)(delegate* unmanaged[Cdecl]<File*, byte*, int, long, int>)&Read;
                methods->xWrite = (nint)(delegate* unmanaged[Cdecl]<File*, byte*, int, long, int>)&Write;
                methods->xTruncate = (nint)(delegate* unmanaged[Cdecl]<File*, long, int>)&Truncate;
                methods->xSync = (nint)(delegate* unmanaged[Cdecl]<File*, int, int>)&Sync;
                methods->xFileSize = (nint)(delegate* unmanaged[Cdecl]<File*, long*, int>)&FileSize;
                methods->xFileControl = (nint)(delegate* unmanaged[Cdecl]<File*, int, void*, int>)&FileControl;
                platformMethods = platformFileMethods;
                gatheringMethods = methods;
            }

            return platformFileMethods == platformMethods ? gatheringMethods : null;
        }
    }

    static Gathered* StateOf(File* file) => (Gathered*)((byte*)file + stateOffset);

    /// <summary>Writes what was gathered, as one write at the offset of the first.</summary>
    static int WriteGathered(File* file)
    {
        var state = StateOf(file);
        if (state->length == 0)
        {
            return SqliteOk;
        }

        var rc = PlatformWrite(file, state->buffer, state->length, state->start);

        // Written or failed, it is no longer held: after a failed write SQLite abandons the transaction, and the next
        // one writes its frames again from the last commit.
        state->length = 0;
        return rc;
    }

    /// <summary>A write of the file itself, through the platform's method.</summary>
    static int PlatformWrite(File* file, byte* data, int amount, long offset)
    {
        Interlocked.Increment(ref fileWrites);
        return ((delegate* unmanaged[Cdecl]<File*, byte*, int, long, int>)platformMethods->xWrite)(file, data, amount, offset);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Write(File* file, byte* data, int amount, long offset)
    {
        Interlocked.Increment(ref gatheredWrites);
        var state = StateOf(file);
        if (state->length > 0 && (offset != state->start + state->length || state->length + amount > GatherBytes))
        {
            var rc = WriteGathered(file);
            if (rc != SqliteOk)
            {
                return rc;
            }
        }

        if (amount > GatherBytes)
        {
            return PlatformWrite(file, data, amount, offset);
        }

        if (state->length == 0)
        {
            state->start = offset;
        }

        Buffer.MemoryCopy(data, state->buffer + state->length, GatherBytes - state->length, amount);
        state->length += amount;
        return SqliteOk;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Sync(File* file, int flags)
    {
        var rc = WriteGathered(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<File*, int, int>)platformMethods->xSync)(file, flags);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Read(File* file, byte* data, int amount, long offset)
    {
        var rc = WriteGathered(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<File*, byte*, int, long, int>)platformMethods->xRead)(file, data, amount, offset);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Truncate(File* file, long size)
    {
        var rc = WriteGathered(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<File*, long, int>)platformMethods->xTruncate)(file, size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int FileSize(File* file, long* size)
    {
        var rc = WriteGathered(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<File*, long*, int>)platformMethods->xFileSize)(file, size);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int FileControl(File* file, int operation, void* argument)
    {
        // Some controls act on the file itself (a size hint extends it), so they see it as SQLite wrote it.
        var rc = WriteGathered(file);
        return rc != SqliteOk ? rc : ((delegate* unmanaged[Cdecl]<File*, int, void*, int>)platformMethods->xFileControl)(file, operation, argument);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Close(File* file)
    {
        var written = WriteGathered(file);
        var state = StateOf(file);
        NativeMemory.Free(state->buffer);
        state->buffer = null;
        var rc = ((delegate* unmanaged[Cdecl]<File*, int>)platformMethods->xClose)(file);
        return written != SqliteOk ? written : rc;
    }

    [LibraryImport("e_sqlite3")]
    private static partial Vfs* sqlite3_vfs_find(byte* name);

    [LibraryImport("e_sqlite3")]
    private static partial int sqlite3_vfs_register(Vfs* vfs, int makeDefault);

    /// <summary>sqlite3_vfs, version 3.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct Vfs
    {
        public int iVersion;
        public int szOsFile;
        public int mxPathname;
        public Vfs* pNext;
        public byte* zName;
        public void* pAppData;
        public nint xOpen;
        public nint xDelete;
        public nint xAccess;
        public nint xFullPathname;
        public nint xDlOpen;
        public nint xDlError;
        public nint xDlSym;
        public nint xDlClose;
        public nint xRandomness;
        public nint xSleep;
        public nint xCurrentTime;
        public nint xGetLastError;
        public nint xCurrentTimeInt64;
        public nint xSetSystemCall;
        public nint xGetSystemCall;
        public nint xNextSystemCall;
    }

    /// <summary>sqlite3_io_methods, version 3.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct IoMethods
    {
        public int iVersion;
        public nint xClose;
        public nint xRead;
        public nint xWrite;
        public nint xTruncate;
        public nint xSync;
        public nint xFileSize;
        public nint xLock;
        public nint xUnlock;
        public nint xCheckReservedLock;
        public nint xFileControl;
        public nint xSectorSize;
        public nint xDeviceCharacteristics;
        public nint xShmMap;
        public nint xShmLock;
        public nint xShmBarrier;
        public nint xShmUnmap;
        public nint xFetch;
        public nint xUnfetch;
    }

    /// <summary>sqlite3_file: the method table is its first member; the platform VFS's own members follow.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct File
    {
        public IoMethods* pMethods;
    }

    /// <summary>What is kept after the platform's file object: the writes not yet made, from <c>start</c> on.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct Gathered
    {
        public byte* buffer;
        public long start;
        public int length;
    }
}
