using System.Collections.Concurrent;

namespace WxLogistics.Storage;

/// <summary>
/// A concurrent map of what was read from the store, bounded in size: when full, it forgets a tenth, whichever the
/// dictionary lists first (in hash order, so no entry in particular), rather than everything at once, which would send
/// every request to the store until it had filled again.
/// </summary>
public sealed class BoundedMap<TKey, TValue>(int maxEntries)
    where TKey : notnull
{
    readonly ConcurrentDictionary<TKey, TValue> entries = new();

    public int Count => entries.Count;

    public bool TryGetValue(TKey key, out TValue value) => entries.TryGetValue(key, out value!);

    public void Set(TKey key, TValue value)
    {
        if (entries.Count >= maxEntries)
        {
            foreach (var (old, _) in entries.Take(maxEntries / 10))
            {
                entries.TryRemove(old, out _);
            }
        }

        entries[key] = value;
    }

    public void Remove(TKey key) => entries.TryRemove(key, out _);

    public void Clear() => entries.Clear();
}
