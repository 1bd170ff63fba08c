using System.Security.Cryptography;
using System.Text;

namespace WxLogistics.CloudGateway;

/// <summary>
/// The TC3-HMAC-SHA256 variant that @cloudbase/signature-nodejs computes for TCB requests (its lib/signer.js):
/// the canonical request hashes the sorted, lower-cased form fields ("&amp;key=" + value + CRLF) instead of the body.
/// </summary>
public static class Tc3Signature
{
    public const string Algorithm = "TC3-HMAC-SHA256";

    /// <summary>The parts of an Authorization header: Credential, SignedHeaders and Signature.</summary>
    public sealed record Authorization(string SecretId, string Service, IReadOnlyList<string> SignedHeaders, string Signature);

    public static bool TryParse(string? header, out Authorization authorization)
    {
        authorization = new Authorization("", "", [], "");
        if (header is null || !header.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in header[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // A part given twice (two Credentials) is no header the signer writes: which one counts is anyone's guess.
            if (part.Split('=', 2) is [var name, var value] && !parts.TryAdd(name, value))
            {
                return false;
            }
        }

        if (!parts.TryGetValue("Credential", out var credential)
            || !parts.TryGetValue("SignedHeaders", out var signedHeaders)
            || !parts.TryGetValue("Signature", out var signature))
        {
            return false;
        }

        // Credential=<secretId>/<yyyy-mm-dd>/<service>/tc3_request
        var scope = credential.Split('/');
        if (scope.Length != 4 || scope[3] != "tc3_request" || scope[0].Length == 0)
        {
            return false;
        }

        authorization = new Authorization(scope[0], scope[2], signedHeaders.Split(';'), signature);
        return true;
    }

    /// <summary>The hex signature of a request, as the signer computes it.</summary>
    /// <param name="secretKey">The env's secretKey.</param>
    /// <param name="service">The service of the credential scope ("tcb").</param>
    /// <param name="method">The method as the SDK passed it to the signer ("post").</param>
    /// <param name="signedUrl">The URL without scheme and query: "//host:port/path".</param>
    /// <param name="query">The raw query string, without '?'.</param>
    /// <param name="headers">The signed headers in their signed order, names lower-case, values normalized.</param>
    /// <param name="fields">The form fields: lower-case name and value bytes (text trimmed, binary as is).</param>
    /// <param name="timestamp">X-Timestamp: Unix seconds.</param>
    public static string Compute(
        string secretKey,
        string service,
        string method,
        string signedUrl,
        string query,
        IReadOnlyList<(string Name, string Value)> headers,
        IReadOnlyList<(string Name, byte[] Value)> fields,
        long timestamp)
    {
        var canonicalHeaders = string.Concat(headers.Select(h => $"{h.Name}:{h.Value}\n"));
        var signedHeaders = string.Join(';', headers.Select(h => h.Name));
        var canonicalRequest = $"{method}\n{signedUrl}\n{query}\n{canonicalHeaders}\n{signedHeaders}\n{HashFields(fields)}";

        var date = DateTimeOffset.FromUnixTimeSeconds(timestamp).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var credentialScope = $"{date}/{service}/tc3_request";
        var stringToSign = $"{Algorithm}\n{timestamp}\n{credentialScope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

        var secretDate = HMACSHA256.HashData(Encoding.UTF8.GetBytes("TC3" + secretKey), Encoding.UTF8.GetBytes(date));
        var secretService = HMACSHA256.HashData(secretDate, Encoding.UTF8.GetBytes(service));
        var secretSigning = HMACSHA256.HashData(secretService, "tc3_request"u8);
        return Hex(HMACSHA256.HashData(secretSigning, Encoding.UTF8.GetBytes(stringToSign)));
    }

    public static bool Matches(string expectedHex, string actualHex) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expectedHex), Encoding.ASCII.GetBytes(actualHex.ToLowerInvariant()));

    /// <summary>Fields sorted by name; empty ones are left out, as the signer leaves out falsy values.</summary>
    static string HashFields(IReadOnlyList<(string Name, byte[] Value)> fields)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, value) in fields.Where(f => f.Value.Length > 0).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"&{name}="));
            hash.AppendData(value);
            hash.AppendData("\r\n"u8);
        }

        return Hex(hash.GetHashAndReset());
    }

    static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
