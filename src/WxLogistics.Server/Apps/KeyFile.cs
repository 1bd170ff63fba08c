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
            return (File.ReadAllText(path).Trim(), false);
        }

        // With PostgreSQL nothing else creates the data directory.
        Directory.CreateDirectory(directory);
        var value = newValue();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var file = new StreamWriter(path, Encoding.ASCII, options);
            file.Write(value);
            return (value, true);
        }
        catch (IOException) when (File.Exists(path))
        {
            return (File.ReadAllText(path).Trim(), false);
        }
    }
}
