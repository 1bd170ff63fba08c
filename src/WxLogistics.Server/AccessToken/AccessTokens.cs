using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.AccessToken;

/// <summary>
/// Issues and checks access_tokens (../shared/spec/wechat-logistics.md §5). Checks are answered from memory; an
/// entry is read again from the store at least every 5 seconds, so a token retired by another node stops working
/// there too, well inside the 5-minute overlap. A token in use is read again in the background once half of that has
/// passed, so its calls do not wait for the store; and there is one read at a time per token: the calls that find it
/// due while it is read wait for that read instead of each reading it again.
/// </summary>
public sealed class AccessTokens(Store store, ServerKey serverKey, TimeProvider time, IOptions<WxLogisticsOptions> options, Wire.CallQuotas quota)
{
    public const int LifetimeSeconds = 7200;

    /// <summary>A stable_token is renewed once fewer than this many seconds of it are left.</summary>
    public const int StableRenewalSeconds = 300;
    public const int ClientCredentialDailyLimit = 2000;
    public const int ForceRefreshDailyLimit = 20;
    public const int ForceRefreshMinIntervalSeconds = 30;
    const int MaxCachedTokens = 100_000;
    const int MaxTokenLength = 512;

    readonly ConcurrentDictionary<TokenHash, CachedToken> cache = new();

    /// <summary>
    /// The read out for each token due to be read again. Under load every call with the token finds it due at once: at
    /// 6,900 updatePath calls a second on PostgreSQL, each reading it for itself put up to 0.7 % of the calls over
    /// 25 ms, every 5 seconds (bench/RESULTS.md, twentieth session).
    /// </summary>
    readonly ConcurrentDictionary<TokenHash, Task<CachedToken?>> reading = new();

    /// <summary>See <see cref="StoreReads"/>.</summary>
    long storeReads;
    readonly int overlapSeconds = options.Value.AccessTokenOverlapSeconds;

    // Shorter than the overlap, so a retired token never outlives its overlap on a node that cached it.
    readonly int recheckSeconds = Math.Min(5, options.Value.AccessTokenOverlapSeconds);

    /// <summary>The app behind an access_token, or the gateway error: 41001, 40001 or 42001.</summary>
    public async ValueTask<(AppRecord? App, WxReply? Error)> AuthenticateAsync(string? accessToken, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(accessToken))
        {
            return (null, WxReply.Error(WxErrors.AccessTokenMissing));
        }

        if (accessToken.Length > MaxTokenLength)
        {
            return (null, WxReply.Error(WxErrors.InvalidCredential));
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(accessToken));
        var key = new TokenHash(hash);
        var now = Now();
        if (!cache.TryGetValue(key, out var entry) || now - entry.CheckedAt >= recheckSeconds)
        {
            entry = await ReadOnceAsync(key, hash, now, entry?.CheckedAt).WaitAsync(cancellationToken);
            if (entry is null)
            {
                return (null, WxReply.Error(WxErrors.InvalidCredential));
            }
        }
        else if (2 * (now - entry.CheckedAt) >= recheckSeconds && !reading.ContainsKey(key))
        {
            // Read again before it is due; this call goes on with what is in memory, still within the recheck interval.
            ObserveFailure(ReadOnceAsync(key, hash, now, entry.CheckedAt));
        }

        if (entry.RevokedAt is { } revokedAt && now >= revokedAt)
        {
            return (null, WxReply.Error(WxErrors.InvalidCredential, "a newer access_token replaced this one"));
        }

        if (now >= entry.ExpiresAt)
        {
            return (null, WxReply.Error(WxErrors.AccessTokenExpired));
        }

        return (entry.App, null);
    }

    /// <summary>GET /cgi-bin/token: a new token each time; the earlier ones keep working for 5 more minutes.</summary>
    public async Task<WxReply> IssueAsync(string? grantType, string? appId, string? secret, CancellationToken cancellationToken = default)
    {
        var (app, error) = await CheckCredentialsAsync(grantType, appId, secret, cancellationToken);
        if (app is null)
        {
            return error!;
        }

        var now = Now();
        var token = Secrets.NewToken();
        var record = new AccessTokenRecord(Secrets.Hash(token), app.AppId, AccessTokenKind.ClientCredential, now, now + LifetimeSeconds, null);
        switch (await store.IssueClientCredentialTokenAsync(record, app.SecretHash, now + overlapSeconds, ChinaDayStart(now), ClientCredentialDailyLimit, cancellationToken))
        {
            case TokenIssue.DailyLimitReached:
                return WxReply.Error(WxErrors.DailyQuotaReached, "could get access_token by getStableAccessToken");
            case TokenIssue.SecretReset:
                return WxReply.Error(WxErrors.InvalidAppSecret);
        }

        foreach (var (otherKey, other) in cache)
        {
            if (other.App.AppId == app.AppId && other.Kind == AccessTokenKind.ClientCredential && (other.RevokedAt ?? long.MaxValue) > now + overlapSeconds)
            {
                cache.TryUpdate(otherKey, other with { RevokedAt = now + overlapSeconds }, other);
            }
        }

        Remember(new TokenHash(record.Hash), new CachedToken(app, record.Kind, record.ExpiresAt, null, now));
        return WxReply.Success(new AccessTokenResponse(token, LifetimeSeconds));
    }

    /// <summary>POST /cgi-bin/stable_token: the same token until 5 minutes before it expires, unless forced.</summary>
    public async Task<WxReply> IssueStableAsync(StableTokenRequest request, CancellationToken cancellationToken = default)
    {
        var (app, error) = await CheckCredentialsAsync(request.GrantType, request.AppId, request.Secret, cancellationToken);
        if (app is null)
        {
            return error!;
        }

        if (quota.TakeStableToken(app.AppId) is { } tooMany)
        {
            return tooMany;
        }

        for (var attempt = 0; ; attempt++)
        {
            var now = Now();
            var current = await store.FindStableTokenAsync(app.AppId, cancellationToken);
            var day = ChinaDayStart(now);
            if (current is not null)
            {
                var stillFresh = current.ExpiresAt - now > StableRenewalSeconds;
                var tooSoonToForce = now - current.IssuedAt < ForceRefreshMinIntervalSeconds;
                if ((!request.ForceRefresh && stillFresh) || (request.ForceRefresh && tooSoonToForce) || attempt > 0)
                {
                    return StableReply(app.AppId, current, now);
                }
            }

            var forcedToday = current is not null && current.ForceDay == day ? current.ForceCount : 0;
            if (request.ForceRefresh && forcedToday >= ForceRefreshDailyLimit)
            {
                return WxReply.Error(WxErrors.DailyQuotaReached, $"force_refresh is limited to {ForceRefreshDailyLimit} a day");
            }

            var next = new StableTokenState(
                app.AppId,
                Secrets.RandomBytes(16),
                now,
                now + LifetimeSeconds,
                request.ForceRefresh ? now : current?.LastForceAt ?? 0,
                request.ForceRefresh ? day : current?.ForceDay ?? day,
                request.ForceRefresh ? forcedToday + 1 : current?.ForceCount ?? 0);
            var token = StableToken(next);
            var record = new AccessTokenRecord(Secrets.Hash(token), app.AppId, AccessTokenKind.Stable, now, next.ExpiresAt, null);
            var previousHash = current is null ? null : Secrets.Hash(StableToken(current));

            // Forcing retires the previous token at once; a normal refresh lets it run out (the overlap).
            long? retireAt = request.ForceRefresh ? now : null;
            var issue = await store.ReplaceStableTokenAsync(app.SecretHash, current?.Nonce, next, record, previousHash, retireAt, cancellationToken);
            if (issue == TokenIssue.SecretReset)
            {
                return WxReply.Error(WxErrors.InvalidAppSecret);
            }

            if (issue == TokenIssue.Issued)
            {
                if (previousHash is not null && retireAt is not null)
                {
                    cache.TryRemove(new TokenHash(previousHash), out _);
                }

                Remember(new TokenHash(record.Hash), new CachedToken(app, AccessTokenKind.Stable, record.ExpiresAt, null, now));
                return WxReply.Success(new AccessTokenResponse(token, LifetimeSeconds));
            }

            // Another call refreshed it first: the next round hands out theirs.
        }
    }

    WxReply StableReply(AppId appId, StableTokenState state, long now) =>
        WxReply.Success(new AccessTokenResponse(StableToken(state), (int)Math.Max(0, state.ExpiresAt - now)));

    string StableToken(StableTokenState state) =>
        Secrets.Base64Url(serverKey.Derive("stable_token", $"{state.AppId}:{Convert.ToBase64String(state.Nonce)}"));

    async Task<(AppRecord? App, WxReply? Error)> CheckCredentialsAsync(string? grantType, string? appId, string? secret, CancellationToken cancellationToken)
    {
        if (grantType != "client_credential")
        {
            return (null, WxReply.Error(WxErrors.InvalidGrantType, "grant_type must be client_credential"));
        }

        if (string.IsNullOrEmpty(appId))
        {
            return (null, WxReply.Error(WxErrors.AppIdMissing));
        }

        if (string.IsNullOrEmpty(secret))
        {
            return (null, WxReply.Error(WxErrors.AppSecretMissing));
        }

        if (!AppId.TryParse(appId, out var id) || await store.FindAppAsync(id, cancellationToken) is not { } app)
        {
            return (null, WxReply.Error(WxErrors.InvalidAppId));
        }

        if (!Secrets.Matches(secret, app.SecretHash))
        {
            return (null, WxReply.Error(WxErrors.InvalidAppSecret));
        }

        return (app, null);
    }

    /// <summary>
    /// The token read from the store and remembered (or forgotten), by the read already out if there is one, or by one
    /// that ended after the caller looked at the entry it found (<paramref name="seenCheckedAt"/>, null for none).
    /// </summary>
    Task<CachedToken?> ReadOnceAsync(TokenHash key, byte[] hash, long now, long? seenCheckedAt)
    {
        // A read out began once the entry was due, so its answer is older than this call by that read's time at most.
        var read = new TaskCompletionSource<CachedToken?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var readOut = reading.GetOrAdd(key, read.Task);
        if (readOut != read.Task)
        {
            return readOut;
        }

        if (cache.TryGetValue(key, out var current) && current.CheckedAt > (seenCheckedAt ?? long.MinValue))
        {
            // A read ended between this call's look at the entry and here: its answer is as fresh, so no second read.
            reading.TryRemove(new KeyValuePair<TokenHash, Task<CachedToken?>>(key, read.Task));
            read.TrySetResult(current);
            return read.Task;
        }

        _ = ReadAsync(key, hash, now, read);
        return readOut;
    }

    async Task ReadAsync(TokenHash key, byte[] hash, long now, TaskCompletionSource<CachedToken?> read)
    {
        try
        {
            // Not a caller's cancellation: the read is shared, and a caller that gives up only stops waiting.
            Interlocked.Increment(ref storeReads);
            var entry = await LoadAsync(hash, now, CancellationToken.None);
            if (entry is null)
            {
                cache.TryRemove(key, out _);
            }
            else
            {
                Remember(key, entry);
            }

            read.TrySetResult(entry);
        }
        catch (Exception e)
        {
            read.TrySetException(e);
        }
        finally
        {
            reading.TryRemove(new KeyValuePair<TokenHash, Task<CachedToken?>>(key, read.Task));
        }
    }

    async Task<CachedToken?> LoadAsync(byte[] hash, long now, CancellationToken cancellationToken)
    {
        var record = await store.FindAccessTokenAsync(hash, cancellationToken);
        if (record is null || await store.FindAppAsync(record.AppId, cancellationToken) is not { } app)
        {
            return null;
        }

        return new CachedToken(app, record.Kind, record.ExpiresAt, record.RevokedAt, now);
    }

    /// <summary>How many times a token was read from the store to check a call (for tests).</summary>
    internal long StoreReads => Interlocked.Read(ref storeReads);

    /// <summary>When the reads out now have finished (for tests).</summary>
    internal Task ReadsDoneAsync() => Task.WhenAll(reading.Values.Select(read => read.ContinueWith(_ => { }, TaskScheduler.Default)));

    /// <summary>A background read's failure is left for the next call that finds the token due to meet again.</summary>
    static void ObserveFailure(Task read) =>
        read.ContinueWith(static done => _ = done.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    void Remember(TokenHash key, CachedToken entry)
    {
        if (cache.Count >= MaxCachedTokens)
        {
            cache.Clear();
        }

        cache[key] = entry;
    }

    long Now() => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Daily quotas count from midnight in China (UTC+8), as WeChat's do.</summary>
    static long ChinaDayStart(long now) => ((now + 8 * 3600) / 86_400 * 86_400) - (8 * 3600);

    sealed record CachedToken(AppRecord App, AccessTokenKind Kind, long ExpiresAt, long? RevokedAt, long CheckedAt);

    readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D)
    {
        public TokenHash(byte[] hash)
            : this(BitConverter.ToUInt64(hash, 0), BitConverter.ToUInt64(hash, 8), BitConverter.ToUInt64(hash, 16), BitConverter.ToUInt64(hash, 24))
        {
        }
    }
}

public sealed record AccessTokenResponse(string AccessToken, int ExpiresIn);

public sealed record StableTokenRequest(string? GrantType, string? AppId, string? Secret, bool ForceRefresh);
