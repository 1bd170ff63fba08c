using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace WxLogistics.Apps;

/// <summary>A mini program's AppID: "wx" and 16 letters or digits, as WeChat issues them.</summary>
public readonly record struct AppId
{
    AppId(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse([NotNullWhen(true)] string? text, out AppId appId)
    {
        appId = default;
        if (text is not { Length: 18 } || !text.StartsWith("wx", StringComparison.Ordinal) || !text.AsSpan(2).ContainsOnlyAsciiLettersOrDigits())
        {
            return false;
        }

        appId = new AppId(text);
        return true;
    }

    public static AppId New() => new("wx" + Convert.ToHexStringLower(Secrets.RandomBytes(8)));

    public override string ToString() => Value;
}

/// <summary>An express company's code, such as SF or ZTO: 1 to 32 ASCII letters, digits or underscores.</summary>
public readonly record struct DeliveryId
{
    public const int MaxLength = 32;

    DeliveryId(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse([NotNullWhen(true)] string? text, out DeliveryId deliveryId)
    {
        deliveryId = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !text.AsSpan().ContainsOnlyAsciiLettersDigitsOrUnderscore())
        {
            return false;
        }

        deliveryId = new DeliveryId(text);
        return true;
    }

    public override string ToString() => Value;
}

/// <summary>A waybill number: 1 to 128 bytes of UTF-8 without white space or control characters.</summary>
public readonly record struct WaybillId
{
    public const int MaxBytes = 128;

    WaybillId(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse([NotNullWhen(true)] string? text, out WaybillId waybillId)
    {
        waybillId = default;
        if (string.IsNullOrEmpty(text) || Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || char.IsSurrogate(c) || c == '\uFFFD')
            {
                return false;
            }
        }

        waybillId = new WaybillId(text);
        return true;
    }

    /// <summary>A new waybill number of 18 random digits, for operators who do not bring their own.</summary>
    public static WaybillId New()
    {
        var digits = new StringBuilder(18);
        var bytes = Secrets.RandomBytes(18);
        foreach (var b in bytes)
        {
            digits.Append((char)('0' + (b % 10)));
        }

        if (digits[0] == '0')
        {
            digits[0] = '1';
        }

        return new WaybillId(digits.ToString());
    }

    public override string ToString() => Value;
}

/// <summary>What identifies a waybill on the platform: the carrier's delivery id and its waybill number.</summary>
public readonly record struct WaybillKey(DeliveryId DeliveryId, WaybillId WaybillId)
{
    public override string ToString() => $"{DeliveryId}/{WaybillId}";
}

public enum AppRole
{
    Carrier,
    Merchant,
}

static class SpanChecks
{
    public static bool ContainsOnlyAsciiLettersOrDigits(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool ContainsOnlyAsciiLettersDigitsOrUnderscore(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
