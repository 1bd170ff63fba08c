using System.Security.Cryptography;
using System.Text;

namespace WxLogistics.Apps;

/// <summary>
/// The server's own secret (32 bytes or more): it derives stable_tokens so that the store never holds one in clear.
/// Taken from configuration (WxLogistics:ServerKey, base64) when set, which several nodes must share; otherwise
/// read from, or created in, the data directory as server.key.
/// </summary>
public sealed class ServerKey
{
    public const string FileName = "server.key";

    readonly byte[] key;

    ServerKey(byte[] key) => this.key = key;

    public static ServerKey FromBase64(string text) => new(Convert.FromBase64String(text));

    public static ServerKey LoadOrCreate(string dataDirectory) =>
        FromBase64(KeyFile.ReadOrCreate(dataDirectory, FileName, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))).Text);

    /// <summary>A keyed digest of <paramref name="purpose"/> and <paramref name="input"/>.</summary>
    public byte[] Derive(string purpose, string input) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{purpose}\n{input}"));
}
