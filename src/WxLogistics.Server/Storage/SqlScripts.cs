using System.Globalization;
using System.Reflection;

namespace WxLogistics.Storage;

/// <summary>The SQL of a provider kept in files (embedded): its numbered schema scripts, and statements the benchmarks run too.</summary>
public static class SqlScripts
{
    /// <summary>Statements/NAME.sql of the provider.</summary>
    public static string Statement(string provider, string name) => Read($"WxLogistics.Storage.{provider}.Statements.{name}.sql");

    /// <summary>The numbered schema scripts of a provider (NNNN_name.sql), in order.</summary>
    public static IReadOnlyList<(int Version, string Sql)> Load(string provider)
    {
        var assembly = Assembly.GetExecutingAssembly();
        var prefix = $"WxLogistics.Storage.{provider}.Scripts.";
        var scripts = new List<(int, string)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var fileName = name[prefix.Length..];
            var version = int.Parse(fileName[..fileName.IndexOf('_')], CultureInfo.InvariantCulture);
            scripts.Add((version, Read(name)));
        }

        return scripts;
    }

    static string Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"no embedded SQL {resource}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
