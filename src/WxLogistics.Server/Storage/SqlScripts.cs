using System.Globalization;
using System.Reflection;

namespace WxLogistics.Storage;

/// <summary>The numbered schema scripts of a provider (NNNN_name.sql, embedded), in order.</summary>
public static class SqlScripts
{
    public static IReadOnlyList<(int Version, string Sql)> Load(string provider)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $"WxLogistics.Storage.{provider}.Scripts.";
        var scripts = new List<(int, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var fileName = name[prefix.Length..];
            var version = int.Parse(fileName[..fileName.IndexOf('_')], CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            scripts.Add((version, reader.ReadToEnd()));
        }

        return scripts;
    }
}
