using System.Text;

namespace WxLogistics.Apps;

/// <summary>
/// A secret kept in a file of the data directory (server.key, admin.key): read it, or create it owner-only with a new
/// value; when another process creates it first, theirs is used.
/// </summary>
static class KeyFile
{
    /// <summary>The file's text, and whether this call created it.</summary>
    public static (string Text, bool Created) ReadOrCreate(string directory, string fileName, Func<string> newValue)
    {
        var path = Path.Combine(directory, fileName);
        if (File.Exists(path))
        {
            return (Read(path), false);
        }

        // With PostgreSQL nothing else creates the data directory.
        Directory.CreateDirectory(directory);
        var value = newValue();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        // Written whole and flushed under a name of its own, then moved into place (which fails if the key exists by
        // then): no process ever reads a key half written, whether the disk filled, the machine stopped or another
        // process was making it at the same moment. An empty key would sign links and derive secrets anyone can forge.
        var written = Path.Combine(directory, $".{fileName}.{Guid.NewGuid():N}");
        try
        {
            using (var file = new FileStream(written, options))
            {
                file.Write(Encoding.ASCII.GetBytes(value));
                file.Flush(flushToDisk: true);
            }

            File.Move(written, path, overwrite: false);
            return (value, true);
        }
        catch (IOException) when (File.Exists(path))
        {
            return (Read(path), false);
        }
        finally
        {
            File.Delete(written);
        }
    }

    static string Read(string path)
    {
        var text = File.ReadAllText(path).Trim();
        return text.Length > 0
            ? text
            : throw new IOException($"{path} is empty (an earlier start was making it when the disk filled or the machine stopped); delete it and a new key is made");
    }
}
