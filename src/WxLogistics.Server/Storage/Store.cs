using System.Data.Common;
using WxLogistics.Apps;

namespace WxLogistics.Storage;

/// <summary>
/// The storage seam: everything the platform keeps, behind one small surface that each provider implements.
/// Every method either commits durably or throws.
/// </summary>
public abstract class Store : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema.</summary>
    public Task MigrateAsync(CancellationToken cancellationToken = default) => MigrateAsync(null, cancellationToken);

    /// <summary>
    /// Creates or upgrades the schema, telling <paramref name="upgrading"/> the name of each script it applies to a
    /// store that had a schema already (an upgrade, which on a large store can take minutes), before it runs it.
    /// </summary>
    public abstract Task MigrateAsync(Action<string>? upgrading, CancellationToken cancellationToken = default);

    /// <summary>True when the store answers and its schema is current.</summary>
    public abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds an app; false when a carrier with the same delivery id already exists.</summary>
    public abstract Task<bool> AddAppAsync(AppRecord app, CancellationToken cancellationToken = default);

    public abstract Task<AppRecord?> FindAppAsync(AppId appId, CancellationToken cancellationToken = default);

    public abstract Task<AppRecord?> FindCarrierAsync(DeliveryId deliveryId, CancellationToken cancellationToken = default);

    /// <summary>The merchant app <paramref name="appId"/>; null when it is no app of this server, or a carrier.</summary>
    public async Task<AppRecord?> FindMerchantAsync(AppId appId, CancellationToken cancellationToken = default) =>
        await FindAppAsync(appId, cancellationToken) is { Role: AppRole.Merchant } merchant ? merchant : null;

    /// <summary>
    /// Stores a new client-credential token and caps every earlier one of the app at <paramref name="retireOthersAt"/>,
    /// unless the app was already issued <paramref name="dailyLimit"/> tokens since <paramref name="dayStart"/>
    /// (<see cref="TokenIssue.DailyLimitReached"/>) or its secret is no longer <paramref name="secretHash"/>, the one
    /// the caller checked (<see cref="TokenIssue.SecretReset"/>): then nothing changes.
    /// </summary>
    public abstract Task<TokenIssue> IssueClientCredentialTokenAsync(
        AccessTokenRecord token, byte[] secretHash, long retireOthersAt, long dayStart, int dailyLimit, CancellationToken cancellationToken = default);

    public abstract Task<AccessTokenRecord?> FindAccessTokenAsync(byte[] hash, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives the app the secret <paramref name="secretHash"/>, retires every access_token it holds at
    /// <paramref name="now"/> and drops its stable token, in one transaction; false when it is no app of this server.
    /// </summary>
    public abstract Task<bool> ResetSecretAsync(AppId appId, byte[] secretHash, long now, CancellationToken cancellationToken = default);

    public abstract Task<StableTokenState?> FindStableTokenAsync(AppId appId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the app's stable token state when it still has <paramref name="expectedNonce"/> (null: none yet),
    /// registers the new token, and retires the previous token at <paramref name="retirePreviousAt"/> when given.
    /// <see cref="TokenIssue.Superseded"/> when another caller replaced it first; <see cref="TokenIssue.SecretReset"/>
    /// when the app's secret is no longer <paramref name="secretHash"/>, the one the caller checked.
    /// </summary>
    public abstract Task<TokenIssue> ReplaceStableTokenAsync(
        byte[] secretHash,
        byte[]? expectedNonce,
        StableTokenState next,
        AccessTokenRecord token,
        byte[]? previousHash,
        long? retirePreviousAt,
        CancellationToken cancellationToken = default);

    /// <summary>Adds a waybill; false when one with the same key exists.</summary>
    public abstract Task<bool> AddWaybillAsync(WaybillRecord waybill, CancellationToken cancellationToken = default);

    public abstract Task<WaybillRecord?> FindWaybillAsync(WaybillKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The waybills of <paramref name="keys"/> that exist, by key, read together, for what updatePath and getPath check
    /// of them (token hash, merchant, order, openid; <see cref="DeliveryPath.WaybillTokens"/>). A store may leave their
    /// path version unread (0) where reading it costs a read of the path (SQLite); <see cref="FindWaybillAsync"/>
    /// reads it.
    /// </summary>
    public abstract Task<IReadOnlyDictionary<WaybillKey, WaybillRecord>> FindWaybillsAsync(
        IReadOnlyCollection<WaybillKey> keys, CancellationToken cancellationToken = default);

    /// <summary>
    /// The most events a waybill's path may hold (WxLogistics:MaxEventsPerWaybill); 0 for no limit, as the operator
    /// verbs' stores have. Given when the store is made (<see cref="StoreFactory.Create"/>).
    /// </summary>
    public int MaxEventsPerWaybill { get; init; }

    /// <summary>
    /// Appends events in one durable transaction. An event equal to a stored one of the same waybill is not stored
    /// again; every stored one bumps its waybill's path version. With <see cref="MaxEventsPerWaybill"/>, a new event
    /// of a waybill whose path is full is not stored (<see cref="AppendOutcome.PathFull"/>); a repeat of a stored one is
    /// still <see cref="AppendOutcome.Duplicate"/>.
    /// With <paramref name="tokenHashes"/> (only where <see cref="ChecksTokensInAppend"/>), an event whose hash is not
    /// null is stored only if its waybill exists with that token hash, else it is answered
    /// <see cref="AppendOutcome.WaybillNotFound"/> or <see cref="AppendOutcome.TokenIncorrect"/>.
    /// </summary>
    public abstract Task<AppendOutcome[]> AppendEventsAsync(
        IReadOnlyList<(WaybillKey Key, PathEvent Event)> events,
        long receivedAtMs,
        IReadOnlyList<byte[]?>? tokenHashes = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the append checks waybill tokens itself (<see cref="AppendEventsAsync"/>), for updatePath to send an
    /// event whose waybill is not in memory without reading the waybill first. Worth it where a read is a round trip
    /// to another server (PostgreSQL); SQLite reads beside its one writer, which would otherwise do the reads too.
    /// </summary>
    public virtual bool ChecksTokensInAppend => false;

    /// <summary>The path of a waybill, sorted by action_time, then by arrival.</summary>
    public abstract Task<IReadOnlyList<PathEvent>> ReadPathAsync(WaybillKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// The path of a waybill as getPath answers it. A store that keeps paths in memory keeps this too, for a path read
    /// again before it changes.
    /// </summary>
    public virtual async Task<PathJson> ReadPathJsonAsync(WaybillKey key, CancellationToken cancellationToken = default) =>
        PathJson.Of(await ReadPathAsync(key, cancellationToken));

    /// <summary>Adds a cloud env (making it the only default when it is one); false when the env exists.</summary>
    public abstract Task<bool> AddCloudEnvAsync(CloudEnvRecord env, CancellationToken cancellationToken = default);

    /// <summary>The named env, or the default one when <paramref name="env"/> is empty.</summary>
    public abstract Task<CloudEnvRecord?> FindCloudEnvAsync(string env, CancellationToken cancellationToken = default);

    /// <summary>Sets or clears (null) an app's message server; false when there is no such app.</summary>
    public abstract Task<bool> SetPushTargetAsync(AppId appId, PushTarget? target, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="max"/> pending pushes that are due, so that no other worker or node takes them
    /// until the lease runs out.
    /// </summary>
    public abstract Task<IReadOnlyList<PushJob>> ClaimPushesAsync(long nowMs, long leaseMs, int max, CancellationToken cancellationToken = default);

    /// <summary>Records a delivered version; the row stays pending when a later version arrived meanwhile.</summary>
    public abstract Task CompletePushAsync(WaybillKey key, long deliveredVersion, long nowMs, CancellationToken cancellationToken = default);

    /// <summary>Records a failed attempt: retry at <paramref name="nextAttemptAtMs"/>, or park it (dead) when null.</summary>
    public abstract Task FailPushAsync(WaybillKey key, int attempts, long? nextAttemptAtMs, string error, long nowMs, CancellationToken cancellationToken = default);

    /// <summary>A merchant's most recently changed pushes, newest first.</summary>
    public async Task<IReadOnlyList<PushDeliveryRecord>> ListPushesAsync(AppId merchant, int limit, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            $"SELECT {StoreRows.PushDeliveryColumns} FROM push_outbox WHERE merchant_appid = @merchant ORDER BY updated_at DESC LIMIT @limit",
            [("merchant", merchant.Value), ("limit", limit)],
            r => StoreRows.PushDelivery(r, merchant),
            cancellationToken);

    /// <summary>
    /// Sends again: the merchant's parked (dead) pushes, or, with a key, that waybill's latest version whatever its
    /// state. Returns how many were queued. They are due at once, whatever the clock of the process that replays
    /// them (the operator's command may run on another machine than the server that delivers): the next attempt
    /// becomes the earlier of its own time, which the deliverer's clock has passed, and the replayer's now.
    /// </summary>
    public abstract Task<int> ReplayPushesAsync(AppId merchant, WaybillKey? key, long nowMs, CancellationToken cancellationToken = default);

    /// <summary>Pushes waiting to be delivered, and the bytes the store takes.</summary>
    public abstract Task<(long PendingPushes, long SizeBytes)> StatisticsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds calls to the call inspector, in their order, and keeps only the most recent <paramref name="keepPerApp"/>
    /// calls of each of their apps. Written beside the path appends, this must not hold them up for long.
    /// </summary>
    public abstract Task AddCallsAsync(IReadOnlyList<CallRecord> calls, int keepPerApp, CancellationToken cancellationToken = default);

    /// <summary>An app's calls, newest first.</summary>
    public abstract Task<IReadOnlyList<CallRecord>> ListCallsAsync(CallFilter filter, CancellationToken cancellationToken = default);

    public abstract Task<OrderRecord?> FindOrderAsync(AppId merchant, string orderId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The merchant's orders among <paramref name="orderIds"/>, by order id; those it has not placed are left out. One
    /// read for all where a read is a round trip (PostgreSQL); here one <see cref="FindOrderAsync"/> each.
    /// </summary>
    public virtual async Task<IReadOnlyDictionary<string, OrderRecord>> FindOrdersAsync(
        AppId merchant, IReadOnlyCollection<string> orderIds, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, OrderRecord>(StringComparer.Ordinal);
        foreach (var orderId in orderIds.Distinct(StringComparer.Ordinal))
        {
            if (await FindOrderAsync(merchant, orderId, cancellationToken) is { } order)
            {
                found[orderId] = order;
            }
        }

        return found;
    }

    /// <summary>Creates the waybill and its order in one transaction; false (nothing created) when either exists.</summary>
    public abstract Task<bool> AddOrderAsync(OrderRecord order, WaybillRecord waybill, CancellationToken cancellationToken = default);

    /// <summary>Marks an order cancelled; false when it was not an open order.</summary>
    public abstract Task<bool> CancelOrderAsync(AppId merchant, string orderId, CancellationToken cancellationToken = default);

    /// <summary>Every carrier, with its service types, for getAllDelivery.</summary>
    public async Task<IReadOnlyList<CarrierListing>> ListCarriersAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT delivery_id, name, service_types FROM apps WHERE role = 'carrier' ORDER BY delivery_id", [], StoreRows.Carrier, cancellationToken);

    /// <summary>Binds an account of the merchant with a carrier; false when it is bound already.</summary>
    public async Task<bool> AddAccountAsync(AccountRecord account, CancellationToken cancellationToken = default) =>
        await WriteAsync(
            "INSERT INTO accounts (merchant_appid, delivery_id, biz_id, remark_content, created_at, updated_at) " +
            "VALUES (@merchant, @delivery, @biz, @remark, @at, @at) ON CONFLICT DO NOTHING",
            [
                ("merchant", account.Merchant.Value), ("delivery", account.DeliveryId.Value), ("biz", account.BizId),
                ("remark", account.RemarkContent), ("at", account.CreatedAt),
            ],
            cancellationToken) == 1;

    /// <summary>Unbinds an account; false when it was not bound.</summary>
    public async Task<bool> RemoveAccountAsync(AppId merchant, DeliveryId deliveryId, string bizId, CancellationToken cancellationToken = default) =>
        await WriteAsync(
            "DELETE FROM accounts WHERE merchant_appid = @merchant AND delivery_id = @delivery AND biz_id = @biz",
            [("merchant", merchant.Value), ("delivery", deliveryId.Value), ("biz", bizId)],
            cancellationToken) == 1;

    /// <summary>Keeps the labels a bound account has left, as its carrier said at <paramref name="at"/>; nothing for an account not bound.</summary>
    public async Task RecordQuotaAsync(AppId merchant, DeliveryId deliveryId, string bizId, long quota, long at, CancellationToken cancellationToken = default) =>
        await WriteAsync(
            "UPDATE accounts SET quota_num = @quota, quota_update_time = @at WHERE merchant_appid = @merchant AND delivery_id = @delivery AND biz_id = @biz",
            [("quota", quota), ("at", at), ("merchant", merchant.Value), ("delivery", deliveryId.Value), ("biz", bizId)],
            cancellationToken);

    /// <summary>The merchant's bound accounts, by carrier and biz_id, with the carrier's service types and the last quota asked.</summary>
    public Task<List<AccountListing>> ListAccountsAsync(AppId merchant, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT a.delivery_id, a.biz_id, a.remark_content, a.created_at, a.updated_at, c.service_types, a.quota_num, a.quota_update_time FROM accounts a " +
            "LEFT JOIN apps c ON c.role = 'carrier' AND c.delivery_id = a.delivery_id " +
            "WHERE a.merchant_appid = @merchant ORDER BY a.delivery_id, a.biz_id",
            [("merchant", merchant.Value)],
            row => StoreRows.Account(row, merchant),
            cancellationToken);

    /// <summary>Sets a carrier's service types (JSON); false when there is no such carrier.</summary>
    public abstract Task<bool> SetServiceTypesAsync(AppId carrier, string serviceTypesJson, CancellationToken cancellationToken = default);

    /// <summary>Every app, carriers first, in AppID order.</summary>
    public Task<List<AppRecord>> ListAppsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {StoreRows.AppColumns} FROM apps ORDER BY role, appid", [], StoreRows.App, cancellationToken);

    /// <summary>Every cloud env, in name order.</summary>
    public Task<List<CloudEnvRecord>> ListCloudEnvsAsync(CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {StoreRows.CloudEnvColumns} FROM cloud_envs ORDER BY env", [], StoreRows.CloudEnv, cancellationToken);

    /// <summary>Waybills in key order after <paramref name="after"/>, of one carrier when <paramref name="deliveryId"/> is set.</summary>
    public Task<List<WaybillRecord>> ListWaybillsAsync(DeliveryId? deliveryId, WaybillKey? after, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT delivery_id, waybill_id, {WaybillColumns} FROM waybills " +
            "WHERE (delivery_id, waybill_id) > (@after_delivery, @after_waybill) AND (@delivery = '' OR delivery_id = @delivery) " +
            "ORDER BY delivery_id, waybill_id LIMIT @limit",
            [
                ("after_delivery", after?.DeliveryId.Value ?? ""), ("after_waybill", after?.WaybillId.Value ?? ""),
                ("delivery", deliveryId?.Value ?? ""), ("limit", limit),
            ],
            StoreRows.KeyedWaybill,
            cancellationToken);

    /// <summary>How many waybills the store holds, all or one carrier's (what <see cref="ListWaybillsAsync"/> pages through).</summary>
    public async Task<long> CountWaybillsAsync(DeliveryId? deliveryId, CancellationToken cancellationToken = default) =>
        (long)(await QueryAsync<object>(
            "SELECT COUNT(*) FROM waybills WHERE (@delivery = '' OR delivery_id = @delivery)",
            [("delivery", deliveryId?.Value ?? "")],
            row => row.GetInt64(0),
            cancellationToken))[0];

    /// <summary>
    /// The paths of the waybills from <paramref name="from"/> up to <paramref name="through"/>, both included, in key
    /// order, each sorted as <see cref="ReadPathAsync"/> sorts it. With both the first and the last of a page of
    /// <see cref="ListWaybillsAsync"/>, exactly that page's paths: nothing of another carrier.
    /// </summary>
    public Task<List<KeyedPathEvent>> ReadPathsAsync(WaybillKey from, WaybillKey through, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT delivery_id, waybill_id, action_time, action_type, action_msg FROM path_events " +
            "WHERE (delivery_id, waybill_id) >= (@from_delivery, @from_waybill) AND (delivery_id, waybill_id) <= (@through_delivery, @through_waybill) " +
            "ORDER BY delivery_id, waybill_id, action_time, seq",
            [
                ("from_delivery", from.DeliveryId.Value), ("from_waybill", from.WaybillId.Value),
                ("through_delivery", through.DeliveryId.Value), ("through_waybill", through.WaybillId.Value),
            ],
            StoreRows.KeyedEvent,
            cancellationToken);

    /// <summary>The columns of <see cref="StoreRows.WaybillColumns"/> as this provider selects them from waybills.</summary>
    protected virtual string WaybillColumns => StoreRows.WaybillColumns;

    /// <summary>Runs a read written in SQL both providers speak, with @name parameters; rows mapped to null are skipped.</summary>
    protected abstract Task<List<T>> QueryAsync<T>(
        string sql, (string Name, object Value)[] parameters, Func<DbDataReader, T?> map, CancellationToken cancellationToken)
        where T : class;

    /// <summary>Runs a write written in SQL both providers speak, with @name parameters; the number of rows it changed.</summary>
    protected abstract Task<int> WriteAsync(string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken);

    /// <summary>Maps every row of a reader, skipping those mapped to null.</summary>
    protected static async Task<List<T>> ReadAllAsync<T>(DbDataReader reader, Func<DbDataReader, T?> map, CancellationToken cancellationToken)
        where T : class
    {
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            if (map(reader) is { } row)
            {
                rows.Add(row);
            }
        }

        return rows;
    }

    public abstract ValueTask DisposeAsync();
}
