using System.Security.Cryptography;
using System.Text;
using WxLogistics.Apps;

namespace WxLogistics.Admin;

/// <summary>
/// The key of the admin endpoints (Authorization: Bearer KEY). From WxLogistics:AdminKey when set; otherwise created
/// at first start in the data directory as admin.key (owner-only), whose path, never the key, is logged.
/// </summary>
public sealed class AdminKey
{
    public const string FileName = "admin.key";

    readonly byte[] hash;

    AdminKey(string key) => hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static AdminKey Load(WxLogisticsOptions options, ILogger logger)
    {
        if (options.AdminKey is { Length: > 0 } configured)
        {
            return new AdminKey(configured);
        }

        var (key, created) = KeyFile.ReadOrCreate(options.DataDirectory, FileName, Secrets.NewToken);
        if (created)
        {
            logger.LogWarning(
                "No WxLogistics:AdminKey was set: an admin key was created in {Path}; admin endpoints take it as 'Authorization: Bearer <key>'",
                Path.Combine(options.DataDirectory, FileName));
        }

        return new AdminKey(key);
    }

    public bool Matches(string? authorization) =>
        authorization is { } header
        && header.StartsWith("Bearer ", StringComparison.Ordinal)
        && Secrets.Matches(header["Bearer ".Length..].Trim(), hash);
}
