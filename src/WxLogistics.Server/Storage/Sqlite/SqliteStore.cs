using Microsoft.Data.Sqlite;
using WxLogistics.Apps;

namespace WxLogistics.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a commit is on disk when it returns.
/// Path appends come from a single writer (the group commit) on a connection of their own.
/// </summary>
public sealed class SqliteStore : Store
{
    public const string FileName = "wxlogistics.db";

    static readonly int LatestSchema = SqlScripts.LatestVersion("Sqlite");

    readonly string connectionString;

    /// <summary>The writer's: the same file, through <see cref="WalWriteGathering"/> when it could be registered.</summary>
    readonly string writerConnectionString;

    const int CheckpointEveryBatches = 64;

    /// <summary>Calls of the call inspector written in one transaction, at most (see AddCallsAsync).</summary>
    const int CallsPerWrite = 100;

    /// <summary>How many WAL frames (pages) the writer is left to copy itself, at most, unless the checkpointer gives up.</summary>
    const int CatchUpFrames = 40;

    /// <summary>
    /// The writer's page cache: each waybill's latest page is where its next event goes, and with SQLite's default of
    /// 2 MB a store of a few thousand busy waybills read most of them back from the file, one system call each.
    /// </summary>
    const int WriterCacheKiB = 16 * 1024;

    /// <summary>
    /// The size the writer cuts its WAL file back to when the log starts again from its beginning (journal_size_limit).
    /// Under load the log stays under a quarter of it (a checkpoint every 64 batches), and SQLite writes over the file
    /// it has rather than growing it; but a long read, such as a backup, keeps the log from starting again, so it grows
    /// by everything committed meanwhile, and would keep that size on disk.
    /// </summary>
    internal const long WalSizeLimit = 32 * 1024 * 1024;

    /// <summary>Passes of one checkpoint: when the disk cannot keep up, the writer copies what is left.</summary>
    const int MaxCheckpointPasses = 10;

    readonly SemaphoreSlim appendLock = new(1, 1);
    SqliteConnection? appendConnection;

    /// <summary>The append on the writer connection, kept with it (and dropped with it when a write fails).</summary>
    Appender? appender;
    int appendsSinceCheckpoint;

    /// <summary>The checkpoint running beside the writer, or finished and not yet caught up with (see AppendEventsAsync).</summary>
    Task? checkpoint;

    /// <summary>Recently read paths (null when its count file cannot be used: then every read reads SQLite).</summary>
    readonly PathCache? pathCache;

    const int MaxKeptReaders = 16;
    readonly System.Collections.Concurrent.ConcurrentBag<KeptReader> keptReaders = [];

    static SqliteStore()
    {
        // Every connection here is used by one thread at a time, so SQLite need not take a mutex around each call, as
        // its default ("serialized") does. This must come before SQLite initializes, that is before the first open;
        // if something opened a connection first, SQLite refuses and keeps its default, which is also correct.
        SQLitePCL.Batteries_V2.Init();
        SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MULTITHREAD);
    }

    /// <summary>
    /// The message of a store's failure, saying what to do when SQLite found its file damaged (SQLITE_CORRUPT,
    /// SQLITE_NOTADB): no retry mends that.
    /// </summary>
    public static string Describe(Exception e) =>
        e is SqliteException { SqliteErrorCode: 11 or 26 }
            ? $"{e.Message} The store's file is damaged: restore the last backup into its data directory (`restore FILE`)."
            : e.Message;

    public SqliteStore(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        DatabasePath = Path.Combine(dataDirectory, FileName);
        connectionString = ConnectionString(DatabasePath);
        writerConnectionString = WalWriteGathering.IsRegistered ? ConnectionString(WalWriteGathering.UriFor(DatabasePath)) : connectionString;
        pathCache = PathCache.Open(dataDirectory);
    }

    public string DatabasePath { get; }

    static string ConnectionString(string dataSource) =>
        new SqliteConnectionStringBuilder
        {
            DataSource = dataSource,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();

    /// <summary>The path version is not kept on the waybill: it is the number of the waybill's latest event.</summary>
    const string FullWaybillColumns =
        "token_hash, merchant_appid, order_id, openid, " +
        "(SELECT COALESCE(MAX(seq), 0) FROM path_events e WHERE e.delivery_id = waybills.delivery_id AND e.waybill_id = waybills.waybill_id), created_at";

    /// <summary>
    /// The same without the path version (0), which reads every event of the path (see <see cref="FindWaybillsAsync"/>).
    /// </summary>
    const string WaybillFieldColumns = "token_hash, merchant_appid, order_id, openid, 0, created_at";

    protected override string WaybillColumns => FullWaybillColumns;

    public override async Task MigrateAsync(Action<string>? upgrading, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(DatabasePath) && File.Exists(DatabasePath + SqliteBackup.RestoringSuffix))
        {
            // A restore stopped between moving the replaced store aside and moving the backup in: a new, empty store
            // made here now would be served as if it were the store.
            throw new IOException(
                $"a restore into {Path.GetDirectoryName(DatabasePath)} was interrupted before it finished: run it again " +
                $"(the store it was replacing is beside it as {FileName}.replaced-TIME)");
        }

        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);", cancellationToken);
        var upgrade = await ScalarAsync(connection, null, "SELECT COUNT(*) FROM schema_migrations", cancellationToken) > 0;

        foreach (var (version, name, sql) in SqlScripts.Load("Sqlite"))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            var applied = await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM schema_migrations WHERE version = $v", cancellationToken, ("$v", version));
            if (applied > 0)
            {
                continue;
            }

            if (upgrade)
            {
                upgrading?.Invoke(name);
            }

            await using (var command = new SqliteCommand(sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await ScalarAsync(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, unixepoch())", cancellationToken, ("$v", version));
            await transaction.CommitAsync(cancellationToken);
        }
    }

    public override async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            var latest = await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken);
            return latest == LatestSchema;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    public override async Task<bool> AddAppAsync(AppRecord app, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            "INSERT INTO apps (appid, role, name, delivery_id, secret_hash, created_at, push_url, push_token, push_format) " +
            "VALUES ($appid, $role, $name, $delivery, $hash, $created, $push_url, $push_token, $push_format)",
            ("$appid", app.AppId.Value),
            ("$role", RoleName(app.Role)),
            ("$name", app.Name),
            ("$delivery", app.DeliveryId?.Value),
            ("$hash", app.SecretHash),
            ("$created", app.CreatedAt),
            ("$push_url", app.Push?.Url),
            ("$push_token", app.Push?.Token),
            ("$push_format", app.Push is null ? null : app.Push.Format == PushFormat.Json ? "json" : "xml"));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            return false;
        }
    }

    public override Task<AppRecord?> FindAppAsync(AppId appId, CancellationToken cancellationToken = default) =>
        QueryAppAsync("appid = $key", appId.Value, cancellationToken);

    public override Task<AppRecord?> FindCarrierAsync(DeliveryId deliveryId, CancellationToken cancellationToken = default) =>
        QueryAppAsync("delivery_id = $key", deliveryId.Value, cancellationToken);

    public override async Task<TokenIssue> IssueClientCredentialTokenAsync(
        AccessTokenRecord token, byte[] secretHash, long retireOthersAt, long dayStart, int dailyLimit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (!await HasSecretAsync(connection, transaction, token.AppId, secretHash, cancellationToken))
        {
            return TokenIssue.SecretReset;
        }

        var issuedToday = await ScalarAsync(
            connection,
            transaction,
            "SELECT COUNT(*) FROM access_tokens WHERE appid = $appid AND kind = 0 AND issued_at >= $day",
            cancellationToken,
            ("$appid", token.AppId.Value),
            ("$day", dayStart));
        if (issuedToday >= dailyLimit)
        {
            return TokenIssue.DailyLimitReached;
        }

        await ScalarAsync(
            connection,
            transaction,
            "UPDATE access_tokens SET revoked_at = $until WHERE appid = $appid AND kind = 0 AND (revoked_at IS NULL OR revoked_at > $until)",
            cancellationToken,
            ("$until", retireOthersAt),
            ("$appid", token.AppId.Value));
        await ScalarAsync(
            connection,
            transaction,
            "DELETE FROM access_tokens WHERE appid = $appid AND expires_at < $horizon",
            cancellationToken,
            ("$appid", token.AppId.Value),
            ("$horizon", dayStart - 86_400));
        await InsertAccessTokenAsync(connection, transaction, token, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TokenIssue.Issued;
    }

    /// <summary>
    /// Whether the app's secret is still the one a caller checked. The transaction holds the write lock (BEGIN
    /// IMMEDIATE), so no reset can commit between this answer and the token's insert.
    /// </summary>
    static async Task<bool> HasSecretAsync(
        SqliteConnection connection, SqliteTransaction transaction, AppId appId, byte[] secretHash, CancellationToken cancellationToken) =>
        await ScalarAsync(
            connection,
            transaction,
            "SELECT COUNT(*) FROM apps WHERE appid = $appid AND secret_hash = $hash",
            cancellationToken,
            ("$appid", appId.Value),
            ("$hash", secretHash)) == 1;

    public override async Task<bool> ResetSecretAsync(AppId appId, byte[] secretHash, long now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (await ExecuteCountAsync(
            connection, transaction, "UPDATE apps SET secret_hash = $hash WHERE appid = $appid", cancellationToken, ("$hash", secretHash), ("$appid", appId.Value)) != 1)
        {
            return false;
        }

        await ExecuteCountAsync(
            connection,
            transaction,
            "UPDATE access_tokens SET revoked_at = $now WHERE appid = $appid AND (revoked_at IS NULL OR revoked_at > $now)",
            cancellationToken,
            ("$now", now),
            ("$appid", appId.Value));
        await ExecuteCountAsync(connection, transaction, "DELETE FROM stable_tokens WHERE appid = $appid", cancellationToken, ("$appid", appId.Value));
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<AccessTokenRecord?> FindAccessTokenAsync(byte[] hash, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(
            connection,
            "SELECT appid, kind, issued_at, expires_at, revoked_at FROM access_tokens WHERE token_hash = $hash",
            ("$hash", hash));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || !AppId.TryParse(reader.GetString(0), out var appId))
        {
            return null;
        }

        return new AccessTokenRecord(
            hash,
            appId,
            (AccessTokenKind)reader.GetInt32(1),
            reader.GetInt64(2),
            reader.GetInt64(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4));
    }

    public override async Task<StableTokenState?> FindStableTokenAsync(AppId appId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(
            connection,
            "SELECT nonce, issued_at, expires_at, last_force_at, force_day, force_count FROM stable_tokens WHERE appid = $appid",
            ("$appid", appId.Value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StableTokenState(
            appId,
            (byte[])reader.GetValue(0),
            reader.GetInt64(1),
            reader.GetInt64(2),
            reader.GetInt64(3),
            reader.GetInt64(4),
            reader.GetInt32(5));
    }

    public override async Task<TokenIssue> ReplaceStableTokenAsync(
        byte[] secretHash,
        byte[]? expectedNonce,
        StableTokenState next,
        AccessTokenRecord token,
        byte[]? previousHash,
        long? retirePreviousAt,
        CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (!await HasSecretAsync(connection, transaction, next.AppId, secretHash, cancellationToken))
        {
            return TokenIssue.SecretReset;
        }

        (string, object?)[] state =
        [
            ("$appid", next.AppId.Value), ("$nonce", next.Nonce), ("$issued", next.IssuedAt), ("$expires", next.ExpiresAt),
            ("$force_at", next.LastForceAt), ("$force_day", next.ForceDay), ("$force_count", next.ForceCount), ("$expected", expectedNonce),
        ];
        long changed;
        if (expectedNonce is null)
        {
            changed = await ExecuteCountAsync(
                connection,
                transaction,
                "INSERT INTO stable_tokens (appid, nonce, issued_at, expires_at, last_force_at, force_day, force_count) " +
                "VALUES ($appid, $nonce, $issued, $expires, $force_at, $force_day, $force_count) ON CONFLICT (appid) DO NOTHING",
                cancellationToken,
                state);
        }
        else
        {
            changed = await ExecuteCountAsync(
                connection,
                transaction,
                "UPDATE stable_tokens SET nonce = $nonce, issued_at = $issued, expires_at = $expires, last_force_at = $force_at, " +
                "force_day = $force_day, force_count = $force_count WHERE appid = $appid AND nonce = $expected",
                cancellationToken,
                state);
        }

        if (changed == 0)
        {
            return TokenIssue.Superseded;
        }

        if (previousHash is not null && retirePreviousAt is { } retireAt)
        {
            await ScalarAsync(
                connection,
                transaction,
                "UPDATE access_tokens SET revoked_at = $until WHERE token_hash = $hash AND (revoked_at IS NULL OR revoked_at > $until)",
                cancellationToken,
                ("$until", retireAt),
                ("$hash", previousHash));
        }

        await ScalarAsync(
            connection,
            transaction,
            "DELETE FROM access_tokens WHERE appid = $appid AND kind = 1 AND expires_at < $horizon",
            cancellationToken,
            ("$appid", next.AppId.Value),
            ("$horizon", next.IssuedAt - 86_400));
        await InsertAccessTokenAsync(connection, transaction, token, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TokenIssue.Issued;
    }

    public override async Task<bool> AddWaybillAsync(WaybillRecord waybill, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            "INSERT INTO waybills (delivery_id, waybill_id, token_hash, merchant_appid, order_id, openid, created_at, updated_at) " +
            "VALUES ($delivery, $waybill, $hash, $merchant, $order, $openid, $created, $created)",
            ("$delivery", waybill.Key.DeliveryId.Value),
            ("$waybill", waybill.Key.WaybillId.Value),
            ("$hash", waybill.TokenHash),
            ("$merchant", waybill.MerchantAppId?.Value),
            ("$order", waybill.OrderId),
            ("$openid", waybill.OpenId),
            ("$created", waybill.CreatedAt));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            return false;
        }
    }

    public override Task<WaybillRecord?> FindWaybillAsync(WaybillKey key, CancellationToken cancellationToken = default) =>
        OnKeptReaderAsync(reader => reader.FindWaybill(key), cancellationToken);

    /// <summary>Without their path version (0), as <see cref="Store.FindWaybillsAsync"/> allows: reading it reads the whole path.</summary>
    public override Task<IReadOnlyDictionary<WaybillKey, WaybillRecord>> FindWaybillsAsync(
        IReadOnlyCollection<WaybillKey> keys, CancellationToken cancellationToken = default) =>
        OnKeptReaderAsync<IReadOnlyDictionary<WaybillKey, WaybillRecord>>(
            reader =>
            {
                var found = new Dictionary<WaybillKey, WaybillRecord>(keys.Count);
                foreach (var key in keys)
                {
                    if (reader.FindWaybillFields(key) is { } waybill)
                    {
                        found[key] = waybill;
                    }
                }

                return found;
            },
            cancellationToken);

    public override Task<AppendOutcome[]> AppendEventsAsync(
        IReadOnlyList<(WaybillKey Key, PathEvent Event)> events,
        long receivedAtMs,
        IReadOnlyList<byte[]?>? tokenHashes = null,
        CancellationToken cancellationToken = default) =>
        tokenHashes is not null && tokenHashes.Any(h => h is not null)
            ? throw new NotSupportedException("the SQLite store does not check tokens in its append (ChecksTokensInAppend)")
            : OnWriterAsync(
            async connection =>
            {
                if (++appendsSinceCheckpoint >= CheckpointEveryBatches && checkpoint is not { IsCompleted: false })
                {
                    appendsSinceCheckpoint = 0;
                    checkpoint = Task.Run(CheckpointAsync, CancellationToken.None);
                }
                else if (checkpoint is { IsCompleted: true })
                {
                    // Under steady load the checkpoint beside us never reaches the end of the WAL: we keep appending
                    // while it copies. So we copy the few frames committed meanwhile ourselves; with the whole WAL in
                    // the database, this commit starts the WAL again from its beginning instead of growing it.
                    checkpoint = null;
                    await ExecuteAsync(connection, "PRAGMA wal_checkpoint(PASSIVE);", cancellationToken);
                }

                var outcomes = new AppendOutcome[events.Count];

                // Immediate: the write lock from the start, so that no other connection commits between the
                // appender's look at data_version and this commit.
                await using var transaction = connection.BeginTransaction(deferred: false);
                var append = appender ??= new Appender(connection, MaxEventsPerWaybill);
                await append.BeginAsync(transaction, receivedAtMs, cancellationToken);
                var versions = new Dictionary<WaybillKey, long>();
                for (var i = 0; i < events.Count; i++)
                {
                    var (key, pathEvent) = events[i];
                    var (outcome, seq) = await append.InsertAsync(key, pathEvent, cancellationToken);
                    outcomes[i] = outcome;
                    if (outcome == AppendOutcome.Stored)
                    {
                        versions[key] = seq;
                    }
                }

                // The merchant push of every changed path is queued in the same transaction (the outbox), when the
                // merchant has a message server.
                foreach (var (key, version) in versions)
                {
                    await append.EnqueueAsync(key, version, cancellationToken);
                }

                try
                {
                    await transaction.CommitAsync(cancellationToken);
                }
                finally
                {
                    // Also when the commit reports a failure: it may have reached the disk all the same.
                    if (versions.Count > 0)
                    {
                        pathCache?.Changed(versions.Keys);
                    }
                }

                return outcomes;
            },
            cancellationToken);

    public override async Task<IReadOnlyList<PathEvent>> ReadPathAsync(WaybillKey key, CancellationToken cancellationToken = default)
    {
        var (cached, read) = await ReadKeptPathAsync(key, cancellationToken);
        return cached?.Events ?? read!;
    }

    /// <summary>
    /// From memory, JSON included, when the path is kept; its JSON is kept from the first time it is served from
    /// memory, so a path read only once keeps none.
    /// </summary>
    public override async Task<PathJson> ReadPathJsonAsync(WaybillKey key, CancellationToken cancellationToken = default)
    {
        var (cached, read) = await ReadKeptPathAsync(key, cancellationToken);
        return cached?.Json ?? PathJson.Of(read!);
    }

    /// <summary>The path from memory when it is kept; else read from the store, and kept for the next reads.</summary>
    async ValueTask<(CachedPath? Cached, IReadOnlyList<PathEvent>? Read)> ReadKeptPathAsync(WaybillKey key, CancellationToken cancellationToken)
    {
        var ticket = 0L;
        if (pathCache?.TryGet(key, out var cached, out ticket) == true)
        {
            return (cached, null);
        }

        var path = await OnKeptReaderAsync(reader => reader.ReadPath(key), cancellationToken);
        pathCache?.Keep(key, path, ticket);
        return (null, path);
    }

    /// <summary>Runs a read on a kept reader connection, then keeps it for the next one (or closes it, if enough are kept).</summary>
    async Task<T> OnKeptReaderAsync<T>(Func<KeptReader, T> read, CancellationToken cancellationToken)
    {
        var reader = keptReaders.TryTake(out var kept) ? kept : await KeptReader.OpenAsync(connectionString, cancellationToken);
        try
        {
            var result = read(reader);
            if (keptReaders.Count < MaxKeptReaders)
            {
                keptReaders.Add(reader);
                reader = null;
            }

            return result;
        }
        finally
        {
            reader?.Dispose();
        }
    }

    /// <summary>
    /// A reader connection kept open with the hottest queries prepared on it: a waybill, and its path. getPath, the
    /// tracking page and updatePath's token check (for a waybill not in the waybill cache) read these on every request,
    /// and taking a pooled connection and preparing the query each time cost more than the read.
    /// </summary>
    sealed class KeptReader(SqliteConnection connection, SqliteCommand path, SqliteCommand waybill, SqliteCommand waybillFields) : IDisposable
    {
        public static async Task<KeptReader> OpenAsync(string connectionString, CancellationToken cancellationToken)
        {
            var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            SqliteCommand Prepared(string sql)
            {
                var command = Command(connection, sql, ("$delivery", ""), ("$waybill", ""));
                command.Prepare();
                return command;
            }

            const string OfWaybill = "WHERE delivery_id = $delivery AND waybill_id = $waybill";
            return new KeptReader(
                connection,

                // No ORDER BY: SQLite would sort in a temporary b-tree; the few rows are sorted below instead.
                Prepared($"SELECT action_time, action_type, action_msg, seq FROM path_events {OfWaybill}"),
                Prepared($"SELECT {FullWaybillColumns} FROM waybills {OfWaybill}"),
                Prepared($"SELECT {WaybillFieldColumns} FROM waybills {OfWaybill}"));
        }

        public WaybillRecord? FindWaybill(WaybillKey key) => Find(waybill, key);

        /// <summary>The waybill without its path version (0).</summary>
        public WaybillRecord? FindWaybillFields(WaybillKey key) => Find(waybillFields, key);

        static WaybillRecord? Find(SqliteCommand query, WaybillKey key)
        {
            query.Parameters["$delivery"].Value = key.DeliveryId.Value;
            query.Parameters["$waybill"].Value = key.WaybillId.Value;
            using var reader = query.ExecuteReader();
            return reader.Read() ? StoreRows.Waybill(reader, key) : null;
        }

        public IReadOnlyList<PathEvent> ReadPath(WaybillKey key)
        {
            path.Parameters["$delivery"].Value = key.DeliveryId.Value;
            path.Parameters["$waybill"].Value = key.WaybillId.Value;
            var rows = new List<(PathEvent Event, long Seq)>();
            using (var reader = path.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((new PathEvent(reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)), reader.GetInt64(3)));
                }
            }

            // Time order, and events of the same second in the order they arrived.
            rows.Sort(static (a, b) => a.Event.ActionTime != b.Event.ActionTime ? a.Event.ActionTime.CompareTo(b.Event.ActionTime) : a.Seq.CompareTo(b.Seq));
            return rows.ConvertAll(static row => row.Event).AsReadOnly();
        }

        public void Dispose()
        {
            path.Dispose();
            waybill.Dispose();
            waybillFields.Dispose();
            connection.Dispose();
        }
    }

    public override async Task<bool> AddCloudEnvAsync(CloudEnvRecord env, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (env.IsDefault)
        {
            await ScalarAsync(connection, transaction, "UPDATE cloud_envs SET is_default = 0 WHERE is_default = 1", cancellationToken);
        }

        var added = await ExecuteCountAsync(
            connection,
            transaction,
            "INSERT INTO cloud_envs (env, appid, secret_id, permissions, is_default, created_at) " +
            "VALUES ($env, $appid, $secret_id, $permissions, $default, $created) ON CONFLICT DO NOTHING",
            cancellationToken,
            ("$env", env.Env),
            ("$appid", env.AppId.Value),
            ("$secret_id", env.SecretId),
            ("$permissions", string.Join(',', env.Permissions.Order(StringComparer.Ordinal))),
            ("$default", env.IsDefault ? 1 : 0),
            ("$created", env.CreatedAt));
        if (added == 0)
        {
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<CloudEnvRecord?> FindCloudEnvAsync(string env, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(
            connection,
            $"SELECT {StoreRows.CloudEnvColumns} FROM cloud_envs " +
            "WHERE ($env <> '' AND env = $env) OR ($env = '' AND is_default = 1)",
            ("$env", env));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.CloudEnv(reader) : null;
    }

    public override async Task<bool> SetPushTargetAsync(AppId appId, PushTarget? target, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            "UPDATE apps SET push_url = $url, push_token = $token, push_format = $format WHERE appid = $appid",
            ("$url", target?.Url),
            ("$token", target?.Token),
            ("$format", target is null ? null : target.Format == PushFormat.Json ? "json" : "xml"),
            ("$appid", appId.Value));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public override async Task<IReadOnlyList<PushJob>> ClaimPushesAsync(long nowMs, long leaseMs, int max, CancellationToken cancellationToken = default)
    {
        // A read first: it never waits for the writer, so an idle outbox costs the group commit nothing.
        await using (var reader = await OpenReadAsync(cancellationToken))
        {
            if (await ScalarAsync(reader, null, "SELECT EXISTS (SELECT 1 FROM push_outbox WHERE status = 'pending' AND next_attempt_at <= $now AND claimed_until <= $now)", cancellationToken, ("$now", nowMs)) == 0)
            {
                return [];
            }
        }

        return await OnWriterAsync(
            async connection =>
            {
                await using var command = Command(
                    connection,
                    """
            UPDATE push_outbox SET claimed_until = $until
            WHERE (delivery_id, waybill_id) IN (
                SELECT delivery_id, waybill_id FROM push_outbox
                WHERE status = 'pending' AND next_attempt_at <= $now AND claimed_until <= $now
                ORDER BY next_attempt_at LIMIT $max)
            RETURNING delivery_id, waybill_id, merchant_appid, version, attempts
            """,
                    ("$until", nowMs + leaseMs),
                    ("$now", nowMs),
                    ("$max", max));
                return await ReadPushJobsAsync(command, cancellationToken);
            },
            cancellationToken);
    }

    public override async Task CompletePushAsync(WaybillKey key, long deliveredVersion, long nowMs, CancellationToken cancellationToken = default)
    {
        await OnWriterAsync(
            async connection =>
            {
                await using var command = Command(
                    connection,
                    """
                    UPDATE push_outbox SET
                        status = CASE WHEN version <= $sent THEN 'delivered' ELSE 'pending' END,
                        delivered_version = MAX(delivered_version, $sent), attempts = 0, next_attempt_at = $now, claimed_until = 0,
                        last_error = NULL, updated_at = $now
                    WHERE delivery_id = $delivery AND waybill_id = $waybill
                    """,
                    ("$sent", deliveredVersion),
                    ("$now", nowMs),
                    ("$delivery", key.DeliveryId.Value),
                    ("$waybill", key.WaybillId.Value));
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public override async Task FailPushAsync(WaybillKey key, int attempts, long? nextAttemptAtMs, string error, long nowMs, CancellationToken cancellationToken = default)
    {
        await OnWriterAsync(
            async connection =>
            {
                await using var command = Command(
                    connection,
                    """
                    UPDATE push_outbox SET
                        status = CASE WHEN $next IS NULL THEN 'dead' ELSE 'pending' END,
                        attempts = $attempts, next_attempt_at = COALESCE($next, next_attempt_at), claimed_until = 0, last_error = $error, updated_at = $now
                    WHERE delivery_id = $delivery AND waybill_id = $waybill
                    """,
                    ("$next", nextAttemptAtMs),
                    ("$attempts", attempts),
                    ("$error", error),
                    ("$now", nowMs),
                    ("$delivery", key.DeliveryId.Value),
                    ("$waybill", key.WaybillId.Value));
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public override async Task<int> ReplayPushesAsync(AppId merchant, WaybillKey? key, long nowMs, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            "UPDATE push_outbox SET status = 'pending', attempts = 0, next_attempt_at = MIN(next_attempt_at, $now), claimed_until = 0, updated_at = $now " +
            "WHERE merchant_appid = $merchant AND " +
            (key is null ? "status = 'dead'" : "delivery_id = $delivery AND waybill_id = $waybill"),
            ("$now", nowMs),
            ("$merchant", merchant.Value),
            ("$delivery", key?.DeliveryId.Value),
            ("$waybill", key?.WaybillId.Value));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public override async Task<(long PendingPushes, long SizeBytes)> StatisticsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        var pending = await ScalarAsync(connection, null, "SELECT COUNT(*) FROM push_outbox WHERE status = 'pending'", cancellationToken);
        var bytes = new[] { DatabasePath, DatabasePath + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);
        return (pending, bytes);
    }

    /// <summary>
    /// One app's calls at a time, at most <see cref="CallsPerWrite"/> in each transaction, each its own turn of the
    /// writer: the group commit waits for one short transaction, never for the whole batch (under load the inspector
    /// writes a thousand calls at a time, which took the writer 5 ms on average and up to 32; and trimming the
    /// log once a minute took 255 ms, while it held all that had come in since; bench/RESULTS.md, fourteenth
    /// session). Each transaction also drops the app's calls older than its <paramref name="keepPerApp"/> newest.
    /// </summary>
    public override async Task AddCallsAsync(IReadOnlyList<CallRecord> calls, int keepPerApp, CancellationToken cancellationToken = default)
    {
        foreach (var chunk in calls.GroupBy(c => c.AppId).SelectMany(appCalls => appCalls.Chunk(CallsPerWrite)))
        {
            await OnWriterAsync(connection => WriteCallsAsync(connection, chunk, keepPerApp, cancellationToken), cancellationToken);
        }
    }

    /// <summary>Calls of one app in one transaction, and the delete of that app's calls older than its newest kept.</summary>
    static async Task WriteCallsAsync(SqliteConnection connection, CallRecord[] calls, int keepPerApp, CancellationToken cancellationToken)
    {
        var appId = calls[0].AppId.Value;
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = Command(
            connection,
            "INSERT INTO call_log (appid, at, api, waybill_id, errcode, reason, rid) VALUES ($appid, $at, $api, $waybill, $errcode, $reason, $rid)",
            ("$appid", appId), ("$at", 0L), ("$api", ""), ("$waybill", null), ("$errcode", 0), ("$reason", null), ("$rid", null));
        insert.Transaction = transaction;
        foreach (var call in calls)
        {
            insert.Parameters["$at"].Value = call.AtMs;
            insert.Parameters["$api"].Value = call.Api;
            insert.Parameters["$waybill"].Value = (object?)call.WaybillId ?? DBNull.Value;
            insert.Parameters["$errcode"].Value = call.ErrCode;
            insert.Parameters["$reason"].Value = (object?)call.Reason ?? DBNull.Value;
            insert.Parameters["$rid"].Value = (object?)call.Rid ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // Through call_log_by_app: the app's calls from its (keepPerApp + 1)th newest back.
        await ExecuteCountAsync(
            connection,
            transaction,
            "DELETE FROM call_log WHERE appid = $appid AND id <= (SELECT id FROM call_log WHERE appid = $appid ORDER BY id DESC LIMIT 1 OFFSET $keep)",
            cancellationToken,
            ("$appid", appId),
            ("$keep", keepPerApp));
        await transaction.CommitAsync(cancellationToken);
    }

    public override async Task<IReadOnlyList<CallRecord>> ListCallsAsync(CallFilter filter, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(
            connection,
            $"SELECT {StoreRows.CallColumns} FROM call_log WHERE appid = $appid " +
            "AND ($waybill IS NULL OR waybill_id = $waybill) AND ($errcode IS NULL OR errcode = $errcode) AND ($rid IS NULL OR rid = $rid) " +
            "ORDER BY id DESC LIMIT $limit",
            ("$appid", filter.AppId.Value),
            ("$waybill", filter.WaybillId),
            ("$errcode", filter.ErrCode),
            ("$rid", filter.Rid),
            ("$limit", filter.Limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var calls = new List<CallRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            calls.Add(StoreRows.Call(reader, filter.AppId));
        }

        return calls;
    }

    public override async Task<OrderRecord?> FindOrderAsync(AppId merchant, string orderId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(
            connection,
            $"SELECT {StoreRows.OrderColumns} FROM orders WHERE merchant_appid = $merchant AND order_id = $order",
            ("$merchant", merchant.Value),
            ("$order", orderId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.Order(reader, merchant, orderId) : null;
    }

    public override async Task<bool> AddOrderAsync(OrderRecord order, WaybillRecord waybill, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var waybillAdded = await ExecuteCountAsync(
            connection,
            transaction,
            "INSERT INTO waybills (delivery_id, waybill_id, token_hash, merchant_appid, order_id, openid, created_at, updated_at) " +
            "VALUES ($delivery, $waybill, $hash, $merchant, $order, $openid, $created, $created) ON CONFLICT DO NOTHING",
            cancellationToken,
            ("$delivery", waybill.Key.DeliveryId.Value), ("$waybill", waybill.Key.WaybillId.Value), ("$hash", waybill.TokenHash),
            ("$merchant", waybill.MerchantAppId?.Value), ("$order", waybill.OrderId), ("$openid", waybill.OpenId), ("$created", waybill.CreatedAt));
        var orderAdded = waybillAdded == 1 && await ExecuteCountAsync(
            connection,
            transaction,
            "INSERT INTO orders (merchant_appid, order_id, delivery_id, waybill_id, biz_id, openid, body, waybill_data, status, created_at) " +
            "VALUES ($merchant, $order, $delivery, $waybill, $biz, $openid, $body, $data, $status, $created) ON CONFLICT DO NOTHING",
            cancellationToken,
            ("$merchant", order.Merchant.Value), ("$order", order.OrderId), ("$delivery", order.Waybill.DeliveryId.Value), ("$waybill", order.Waybill.WaybillId.Value),
            ("$biz", order.BizId), ("$openid", order.OpenId), ("$body", order.Body), ("$data", order.WaybillData), ("$status", order.Status),
            ("$created", order.CreatedAt)) == 1;
        if (!orderAdded)
        {
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<bool> CancelOrderAsync(AppId merchant, string orderId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteCountAsync(
            connection, null!, "UPDATE orders SET status = 1 WHERE merchant_appid = $merchant AND order_id = $order AND status = 0", cancellationToken,
            ("$merchant", merchant.Value), ("$order", orderId)) == 1;
    }

    public override async Task<bool> SetServiceTypesAsync(AppId carrier, string serviceTypesJson, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteCountAsync(
            connection, null!, "UPDATE apps SET service_types = $types WHERE appid = $appid AND role = 'carrier'", cancellationToken,
            ("$types", serviceTypesJson), ("$appid", carrier.Value)) == 1;
    }

    static async Task<IReadOnlyList<PushJob>> ReadPushJobsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<PushJob>();
        while (await reader.ReadAsync(cancellationToken))
        {
            if (StoreRows.PushJob(reader) is { } job)
            {
                jobs.Add(job);
            }
        }

        return jobs;
    }


    public override async ValueTask DisposeAsync()
    {
        if (checkpoint is not null)
        {
            await checkpoint;
        }

        await appendLock.WaitAsync();
        try
        {
            if (appendConnection is not null)
            {
                DisposeAppender();
                await appendConnection.DisposeAsync();
                appendConnection = null;
            }
        }
        finally
        {
            appendLock.Release();
        }

        while (keptReaders.TryTake(out var reader))
        {
            reader.Dispose();
        }

        SqliteConnection.ClearAllPools();
    }

    Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(connectionString, cancellationToken);

    static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = await OpenReadAsync(connectionString, cancellationToken);

        // Not persistent: every connection that may write must say it again.
        await ExecuteAsync(connection, "PRAGMA synchronous=FULL;", cancellationToken);
        return connection;
    }

    /// <summary>
    /// The append's statements, prepared once on the writer connection, and the latest number it gave each of up to
    /// 20,000 waybills, so that the next event is numbered without reading the path for its largest number (seq is
    /// not in the key, so that reads every event). That memory holds only while no other connection or process has
    /// committed since this one's last append (SQLite's data_version); and it goes with the appender, which a failed
    /// write drops with its connection, since the numbers of a failed commit may or may not be on disk.
    /// </summary>
    sealed class Appender(SqliteConnection connection, int maxEvents) : IDisposable
    {
        const int MaxLatestNumbers = 20_000;

        readonly Dictionary<WaybillKey, long> latestNumbers = [];
        long? seenDataVersion;

        /// <summary>Inserts an event numbered after its waybill's largest number, read from the path.</summary>
        readonly SqliteCommand insert = Command(
            connection,
            """
            INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
            SELECT $delivery, $waybill, $time, $type, $msg, COALESCE(MAX(seq), 0) + 1, $received
            FROM path_events WHERE delivery_id = $delivery AND waybill_id = $waybill
            ON CONFLICT DO NOTHING
            RETURNING seq
            """,
            ("$delivery", ""), ("$waybill", ""), ("$time", 0L), ("$type", 0), ("$msg", ""), ("$received", 0L));

        /// <summary>
        /// With a limit: whether an event is stored already, and its waybill's largest number, which is its count (a
        /// waybill's numbers run from 1 without gaps).
        /// </summary>
        readonly SqliteCommand stored = Command(
            connection,
            """
            SELECT EXISTS (SELECT 1 FROM path_events WHERE delivery_id = $delivery AND waybill_id = $waybill
                    AND action_time = $time AND action_type = $type AND action_msg = $msg),
                COALESCE(MAX(seq), 0)
            FROM path_events WHERE delivery_id = $delivery AND waybill_id = $waybill
            """,
            ("$delivery", ""), ("$waybill", ""), ("$time", 0L), ("$type", 0), ("$msg", ""));

        /// <summary>Inserts an event with the number it is given.</summary>
        readonly SqliteCommand insertNumbered = Command(
            connection,
            """
            INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
            VALUES ($delivery, $waybill, $time, $type, $msg, $seq, $received)
            ON CONFLICT DO NOTHING
            """,
            ("$delivery", ""), ("$waybill", ""), ("$time", 0L), ("$type", 0), ("$msg", ""), ("$seq", 0L), ("$received", 0L));

        readonly SqliteCommand enqueue = Command(
            connection,
            """
            INSERT INTO push_outbox (delivery_id, waybill_id, merchant_appid, version, status, attempts, next_attempt_at, updated_at)
            SELECT w.delivery_id, w.waybill_id, w.merchant_appid, $version, 'pending', 0, $now, $now
            FROM waybills w JOIN apps a ON a.appid = w.merchant_appid AND a.push_url IS NOT NULL
            WHERE w.delivery_id = $delivery AND w.waybill_id = $waybill
            ON CONFLICT (delivery_id, waybill_id) DO UPDATE SET
                version = excluded.version,
                updated_at = excluded.updated_at,
                attempts = CASE WHEN push_outbox.status = 'pending' THEN push_outbox.attempts ELSE 0 END,
                next_attempt_at = CASE WHEN push_outbox.status = 'pending' THEN push_outbox.next_attempt_at ELSE excluded.next_attempt_at END,
                status = 'pending'
            """,
            ("$delivery", ""), ("$waybill", ""), ("$version", 0L), ("$now", 0L));

        /// <summary>Changes when another connection has committed since this one last looked.</summary>
        readonly SqliteCommand dataVersion = Command(connection, "PRAGMA data_version");

        /// <summary>Starts an append in <paramref name="transaction"/>, which must hold the write lock.</summary>
        public async Task BeginAsync(SqliteTransaction transaction, long receivedAtMs, CancellationToken cancellationToken)
        {
            insert.Transaction = insertNumbered.Transaction = stored.Transaction = enqueue.Transaction = dataVersion.Transaction = transaction;
            insert.Parameters["$received"].Value = insertNumbered.Parameters["$received"].Value = receivedAtMs;
            enqueue.Parameters["$now"].Value = receivedAtMs;
            var version = (long)(await dataVersion.ExecuteScalarAsync(cancellationToken))!;
            if (version != seenDataVersion)
            {
                latestNumbers.Clear();
                seenDataVersion = version;
            }
        }

        /// <summary>
        /// The stored event's number within its waybill; or, with the event not stored, <see cref="AppendOutcome.Duplicate"/>
        /// when the same event is stored already, <see cref="AppendOutcome.PathFull"/> when the path holds its most.
        /// Without a limit, a waybill whose largest number is not in memory is inserted after its path's largest, in one
        /// statement; with one, the count is read first.
        /// </summary>
        public async Task<(AppendOutcome Outcome, long Seq)> InsertAsync(WaybillKey key, PathEvent pathEvent, CancellationToken cancellationToken)
        {
            if (!latestNumbers.TryGetValue(key, out var latest))
            {
                if (maxEvents == 0)
                {
                    SetEvent(insert, key, pathEvent);
                    return Inserted(key, await insert.ExecuteScalarAsync(cancellationToken) as long?);
                }

                (var isStored, latest) = await LookUpAsync(key, pathEvent, cancellationToken);
                if (isStored || latest >= maxEvents)
                {
                    return (isStored ? AppendOutcome.Duplicate : AppendOutcome.PathFull, 0);
                }
            }
            else if (maxEvents > 0 && latest >= maxEvents)
            {
                return ((await LookUpAsync(key, pathEvent, cancellationToken)).Stored ? AppendOutcome.Duplicate : AppendOutcome.PathFull, 0);
            }

            SetEvent(insertNumbered, key, pathEvent);
            insertNumbered.Parameters["$seq"].Value = latest + 1;
            return Inserted(key, await insertNumbered.ExecuteNonQueryAsync(cancellationToken) == 1 ? latest + 1 : null);
        }

        /// <summary>Stored with <paramref name="seq"/>, which is remembered; or, with none, the same event is stored already.</summary>
        (AppendOutcome Outcome, long Seq) Inserted(WaybillKey key, long? seq)
        {
            if (seq is not { } number)
            {
                return (AppendOutcome.Duplicate, 0);
            }

            Remember(key, number);
            return (AppendOutcome.Stored, number);
        }

        async Task<(bool Stored, long Latest)> LookUpAsync(WaybillKey key, PathEvent pathEvent, CancellationToken cancellationToken)
        {
            SetEvent(stored, key, pathEvent);
            await using var reader = await stored.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (exists, latest) = (reader.GetBoolean(0), reader.GetInt64(1));
            Remember(key, latest);
            return (exists, latest);
        }

        void Remember(WaybillKey key, long latest)
        {
            if (latestNumbers.Count >= MaxLatestNumbers && !latestNumbers.ContainsKey(key))
            {
                latestNumbers.Clear();
            }

            latestNumbers[key] = latest;
        }

        public Task EnqueueAsync(WaybillKey key, long version, CancellationToken cancellationToken)
        {
            enqueue.Parameters["$delivery"].Value = key.DeliveryId.Value;
            enqueue.Parameters["$waybill"].Value = key.WaybillId.Value;
            enqueue.Parameters["$version"].Value = version;
            return enqueue.ExecuteNonQueryAsync(cancellationToken);
        }

        public void Dispose()
        {
            insert.Dispose();
            insertNumbered.Dispose();
            stored.Dispose();
            enqueue.Dispose();
            dataVersion.Dispose();
        }

        static void SetEvent(SqliteCommand command, WaybillKey key, PathEvent pathEvent)
        {
            command.Parameters["$delivery"].Value = key.DeliveryId.Value;
            command.Parameters["$waybill"].Value = key.WaybillId.Value;
            command.Parameters["$time"].Value = pathEvent.ActionTime;
            command.Parameters["$type"].Value = pathEvent.ActionType;
            command.Parameters["$msg"].Value = pathEvent.ActionMsg;
        }
    }

    /// <summary>
    /// Runs a write on the one writer connection (the group commit's, also used by the call inspector and the push
    /// bookkeeping), one at a time: SQLite has one writer, and waiting our turn here is cheaper than its busy retries.
    /// Checkpoints run beside it (see CheckpointAsync), and a connection that failed is not reused.
    /// </summary>
    async Task<T> OnWriterAsync<T>(Func<SqliteConnection, Task<T>> write, CancellationToken cancellationToken)
    {
        await appendLock.WaitAsync(cancellationToken);
        try
        {
            if (appendConnection is null)
            {
                // Its WAL writes are gathered until the commit's sync, which synchronous=FULL makes at every commit.
                appendConnection = await OpenAsync(writerConnectionString, cancellationToken);
                await ExecuteAsync(
                    appendConnection, $"PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-{WriterCacheKiB}; PRAGMA journal_size_limit={WalSizeLimit};", cancellationToken);
            }

            return await write(appendConnection);
        }
        catch
        {
            if (appendConnection is not null)
            {
                DisposeAppender();
                await appendConnection.DisposeAsync();
                appendConnection = null;
            }

            throw;
        }
        finally
        {
            appendLock.Release();
        }
    }

    /// <summary>A write without a result on the one writer connection (see the overload above).</summary>
    Task OnWriterAsync(Func<SqliteConnection, Task> write, CancellationToken cancellationToken) =>
        OnWriterAsync(
            async connection =>
            {
                await write(connection);
                return true;
            },
            cancellationToken);

    void DisposeAppender()
    {
        appender?.Dispose();
        appender = null;
    }

    /// <summary>
    /// Passive checkpoints on a connection of their own: they copy what they can from the WAL into the database without
    /// making the writer wait, so the group commit pays only for the few frames committed while the last one ran (see
    /// AppendEventsAsync). Each pass copies what was committed during the one before, so the passes shorten until
    /// one has no more than <see cref="CatchUpFrames"/> left behind it: the writer's share then costs about two
    /// flushes (2.7–3.6 ms on average against 4.4–6.9 ms after a single pass; bench/RESULTS.md, fourteenth session).
    /// </summary>
    async Task CheckpointAsync()
    {
        try
        {
            await using var connection = await OpenReadAsync(CancellationToken.None);
            await using var command = Command(connection, "PRAGMA wal_checkpoint(PASSIVE);");
            long? walFramesBefore = null;
            for (var pass = 0; pass < MaxCheckpointPasses; pass++)
            {
                long walFrames;
                await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
                {
                    // Its row: busy, the frames in the WAL when the pass began, the frames now in the database.
                    walFrames = await reader.ReadAsync(CancellationToken.None) ? reader.GetInt64(1) : 0;
                }

                // What this pass copied beyond the last one was committed while the last one ran: when that was
                // little, what was committed during this pass is little too.
                if (walFrames - walFramesBefore <= CatchUpFrames)
                {
                    return;
                }

                walFramesBefore = walFrames;
            }
        }
        catch (SqliteException)
        {
            // The next one will try again.
        }
    }

    /// <summary>A pooled connection for reads only (no write, so no synchronous setting to make).</summary>
    Task<SqliteConnection> OpenReadAsync(CancellationToken cancellationToken) => OpenReadAsync(connectionString, cancellationToken);

    static async Task<SqliteConnection> OpenReadAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    async Task<AppRecord?> QueryAppAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(
            connection,
            $"SELECT {StoreRows.AppColumns} FROM apps WHERE {where}",
            ("$key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.App(reader) : null;
    }

    static Task InsertAccessTokenAsync(SqliteConnection connection, SqliteTransaction transaction, AccessTokenRecord token, CancellationToken cancellationToken) =>
        ScalarAsync(
            connection,
            transaction,
            "INSERT INTO access_tokens (token_hash, appid, kind, issued_at, expires_at, revoked_at) VALUES ($hash, $appid, $kind, $issued, $expires, $revoked)",
            cancellationToken,
            ("$hash", token.Hash),
            ("$appid", token.AppId.Value),
            ("$kind", (int)token.Kind),
            ("$issued", token.IssuedAt),
            ("$expires", token.ExpiresAt),
            ("$revoked", token.RevokedAt));

    static string RoleName(AppRole role) => role == AppRole.Carrier ? "carrier" : "merchant";

    static bool IsUniqueViolation(SqliteException e) => e.SqliteErrorCode == 19; // SQLITE_CONSTRAINT

    protected override async Task<List<T>> QueryAsync<T>(
        string sql, (string Name, object Value)[] parameters, Func<System.Data.Common.DbDataReader, T?> map, CancellationToken cancellationToken)
        where T : class
    {
        await using var connection = await OpenReadAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters.Select(p => ("@" + p.Name, (object?)p.Value)).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAllAsync(reader, map, cancellationToken);
    }

    protected override async Task<int> WriteAsync(string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return (int)await ExecuteCountAsync(connection, null!, sql, cancellationToken, parameters.Select(p => ("@" + p.Name, (object?)p.Value)).ToArray());
    }

    static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new SqliteCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new SqliteCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static async Task<long> ExecuteCountAsync(
        SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        command.Transaction = transaction;
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static async Task<long> ScalarAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        command.Transaction = transaction;
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is long value ? value : 0;
    }
}
