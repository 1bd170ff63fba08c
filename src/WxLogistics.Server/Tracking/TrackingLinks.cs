using System.Security.Cryptography;
using System.Text;
using WxLogistics.Apps;

namespace WxLogistics.Tracking;

/// <summary>
/// Unguessable, expiring links to a waybill's tracking page: /t/{payload}.{signature}, where the payload names the
/// waybill and the expiry and the signature is an HMAC under the server key. Changing any byte, the expiry included,
/// breaks the signature.
/// </summary>
public sealed class TrackingLinks(ServerKey serverKey, TimeProvider time)
{
    public const string PathPrefix = "/t/";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(7);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(90);

    /// <summary>
    /// Whether <paramref name="url"/> can go before a link's path (https://track.example.com, or under a path): an
    /// absolute http(s) URL with no query or fragment, which the path added to its end would land inside.
    /// </summary>
    public static bool IsBaseUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && !url.Contains('?') && !url.Contains('#');

    public (string Path, DateTimeOffset ExpiresAt) Create(WaybillKey key, TimeSpan lifetime)
    {
        var expiresAt = time.GetUtcNow() + lifetime;
        var payload = Secrets.Base64Url(Encoding.UTF8.GetBytes($"{key.DeliveryId}\n{key.WaybillId}\n{expiresAt.ToUnixTimeSeconds()}"));
        return ($"{PathPrefix}{payload}.{Sign(payload)}", DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds()));
    }

    /// <summary>The waybill a link opens, or null for a forged, altered or expired link.</summary>
    public WaybillKey? Open(string link)
    {
        var dot = link.IndexOf('.');
        if (dot <= 0 || link.Length > 1024)
        {
            return null;
        }

        var payload = link[..dot];
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(payload)), Encoding.ASCII.GetBytes(link[(dot + 1)..])))
        {
            return null;
        }

        string[] parts;
        try
        {
            parts = Encoding.UTF8.GetString(FromBase64Url(payload)).Split('\n');
        }
        catch (FormatException)
        {
            return null;
        }

        if (parts.Length != 3
            || !DeliveryId.TryParse(parts[0], out var deliveryId)
            || !WaybillId.TryParse(parts[1], out var waybillId)
            || !long.TryParse(parts[2], out var expiresAt)
            || time.GetUtcNow().ToUnixTimeSeconds() >= expiresAt)
        {
            return null;
        }

        return new WaybillKey(deliveryId, waybillId);
    }

    string Sign(string payload) => Secrets.Base64Url(serverKey.Derive("tracking-link", payload));

    static byte[] FromBase64Url(string text)
    {
        var base64 = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '='));
    }
}
