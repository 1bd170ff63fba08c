namespace WxLogistics.Tests.Infrastructure;

public static class TextCounts
{
    /// <summary>How many times <paramref name="what"/> occurs in <paramref name="text"/>, such as a message in a log.</summary>
    public static int Occurrences(this string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
