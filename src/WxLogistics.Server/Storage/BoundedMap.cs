using System.Collections.Concurrent;

namespace WxLogistics.Storage;

/// <summary>
/// A concurrent map of what was read from the store, bounded in size. Entries are set into a young generation. When
/// that holds half the bound, it becomes the old generation, and the old one is forgotten whole. So the map keeps at
/// most its bound, and always at least the half of it that was set last: what was read lately stays remembered,
/// however much else was read before it. An entry is not kept longer for being used; once forgotten, it is read again.
/// </summary>
/// <remarks>
/// The map this replaces forgot a tenth when full, the entries its dictionary listed first. That is the entries in the
/// first buckets of the hash table, so the rest stayed for good, stale, and many new entries went before their second
/// use. After a burst of getPath over 500,000 waybills, updatePath read 0.8 waybills from PostgreSQL per event
/// instead of 0.47 (bench/RESULTS.md).
/// </remarks>
public sealed class BoundedMap<TKey, TValue>
    where TKey : notnull
{
    readonly int half;
    readonly Lock turning = new();
    Generations generations;

    public BoundedMap(int maxEntries)
    {
        half = Math.Max(1, maxEntries / 2);
        generations = new Generations(null, half);
    }

    public int Count
    {
        get
        {
            var now = Volatile.Read(ref generations);
            return now.Young.Count + now.Old.Count;
        }
    }

    public bool TryGetValue(TKey key, out TValue value)
    {
        var now = Volatile.Read(ref generations);
        return now.Young.TryGetValue(key, out value!) || now.Old.TryGetValue(key, out value!);
    }

    public void Set(TKey key, TValue value)
    {
        var now = Volatile.Read(ref generations);
        while (Interlocked.Increment(ref now.Sets) > half)
        {
            now = Turn(now);
        }

        now.Young[key] = value;
        // Young is read first, so an older value left behind would not be seen; removing it keeps Count true.
        now.Old.TryRemove(key, out _);
    }

    /// <summary>
    /// Forgets the key. Young is read before old, and a young generation only ever becomes the old one, so a turn at the
    /// same time cannot leave the key behind.
    /// </summary>
    public void Remove(TKey key)
    {
        var now = Volatile.Read(ref generations);
        now.Young.TryRemove(key, out _);
        now.Old.TryRemove(key, out _);
    }

    public void Clear()
    {
        lock (turning)
        {
            Volatile.Write(ref generations, new Generations(null, half));
        }
    }

    /// <summary>The young generation <paramref name="full"/> is full: it becomes the old one, unless another set turned it already.</summary>
    Generations Turn(Generations full)
    {
        lock (turning)
        {
            if (ReferenceEquals(generations, full))
            {
                Volatile.Write(ref generations, new Generations(full.Young, half));
            }

            return generations;
        }
    }

    sealed class Generations(ConcurrentDictionary<TKey, TValue>? old, int capacity)
    {
        public readonly ConcurrentDictionary<TKey, TValue> Young = new(Environment.ProcessorCount, capacity);
        public readonly ConcurrentDictionary<TKey, TValue> Old = old ?? new();

        /// <summary>Sets into <see cref="Young"/>, counted before they are made; more than the half bound turns it.</summary>
        public int Sets;
    }
}
