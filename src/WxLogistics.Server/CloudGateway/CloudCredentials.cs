using System.Text.RegularExpressions;
using WxLogistics.Apps;

namespace WxLogistics.CloudGateway;

/// <summary>
/// The TENCENTCLOUD_SECRETID / TENCENTCLOUD_SECRETKEY pair of a cloud env. The key is derived from the server key,
/// the env and the secretId, so that the store never holds it and any node with the server key can verify it.
/// </summary>
public static partial class CloudCredentials
{
    public static string NewSecretId() => "AKID" + Secrets.Base64Url(Secrets.RandomBytes(24)).Replace('-', 'x').Replace('_', 'y');

    public static string SecretKey(ServerKey serverKey, string env, string secretId) =>
        Secrets.Base64Url(serverKey.Derive("cloud-env-secret-key", $"{env}:{secretId}"))[..40];

    /// <summary>An env id as TCB accepts it: 1 to 40 lower-case letters, digits, '_' or '-'.</summary>
    public static bool IsValidEnv(string env) => EnvPattern().IsMatch(env);

    /// <summary>A permission as config.json writes it: "category.method", such as logistics.updatePath.</summary>
    public static bool IsValidPermission(string permission) => PermissionPattern().IsMatch(permission);

    [GeneratedRegex("^[a-z0-9_-]{1,40}$")]
    private static partial Regex EnvPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*\\.[A-Za-z][A-Za-z0-9]*$")]
    private static partial Regex PermissionPattern();
}
