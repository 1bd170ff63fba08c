using System.Globalization;
using System.Reflection;

namespace WxLogistics.Storage;

/// <summary>The SQL of a provider kept in files (embedded): its numbered schema scripts, and statements the benchmarks run too.</summary>
public static class SqlScripts
{
    /// <summary>Statements/NAME.sql of the provider.</summary>
    public static string Statement(string provider, string name) => Read($"WxLogistics.Storage.{provider}.Statements.{name}.sql");

    /// <summary>The numbered schema scripts of a provider (NNNN_name.sql, its Name), in order.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Load(string provider) =>
        [.. Numbered(provider).Select(s => (s.Version, s.Name, Read(s.Resource)))];

    /// <summary>The number of the provider's last schema script, which a current schema has applied; no script is read.</summary>
    public static int LatestVersion(string provider) => Numbered(provider).Max(s => s.Version);

    static IEnumerable<(int Version, string Name, string Resource)> Numbered(string provider)
    {
        var prefix = $"WxLogistics.Storage.{provider}.Scripts.";
        foreach (var resource in Assembly.GetExecutingAssembly().GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var fileName = resource[prefix.Length..];
            yield return (int.Parse(fileName[..fileName.IndexOf('_')], CultureInfo.InvariantCulture), fileName, resource);
        }
    }

    static string Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"no embedded SQL {resource}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
