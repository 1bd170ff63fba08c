using System.Security.Cryptography;
using System.Text;

namespace WxLogistics.Apps;

/// <summary>
/// Random credentials and their hashes. App secrets, access_tokens and waybill tokens are random with at least
/// 128 bits, so a plain SHA-256 is a safe way to keep them: only the hash is ever stored, and hashes are compared
/// in constant time.
/// </summary>
public static class Secrets
{
    public static byte[] RandomBytes(int count) => RandomNumberGenerator.GetBytes(count);

    /// <summary>An AppSecret as WeChat shapes it: 32 lower-case hex digits (128 bits).</summary>
    public static string NewAppSecret() => Convert.ToHexStringLower(RandomBytes(16));

    /// <summary>An opaque credential of 192 bits in URL-safe base64 (32 characters).</summary>
    public static string NewToken() => Base64Url(RandomBytes(24));

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string candidate, ReadOnlySpan<byte> storedHash)
    {
        Span<byte> hash = stackalloc byte[32];
        var byteCount = Encoding.UTF8.GetByteCount(candidate);
        var buffer = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(candidate, buffer);
        SHA256.HashData(buffer, hash);
        return CryptographicOperations.FixedTimeEquals(hash, storedHash);
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
