using System.Data;
using Npgsql;
using NpgsqlTypes;
using WxLogistics.Apps;

namespace WxLogistics.Storage.Postgres;

/// <summary>
/// The store for several server nodes: one PostgreSQL (synchronous commit, the default) shared by stateless nodes.
/// Schema scripts run under an advisory lock, so nodes starting together migrate once.
/// </summary>
public sealed class PostgresStore(string connectionString) : Store
{
    internal const long MigrationLockKey = 0x5778_4C6F_6769; // "WxLogi"

    static readonly string AppendLockSql = SqlScripts.Statement("Postgres", "append_lock");
    static readonly string AppendEventsSql = SqlScripts.Statement("Postgres", "append_events");
    static readonly string AppendEventsLimitedSql = WithLimit(AppendEventsSql, SqlScripts.Statement("Postgres", "append_events_limit"));
    static readonly int LatestSchema = SqlScripts.LatestVersion("Postgres");

    readonly NpgsqlDataSource dataSource = NpgsqlDataSource.Create(Tuned(connectionString));
    readonly SemaphoreSlim writerLock = new(1, 1);

    /// <summary>
    /// The connection appends go through, kept open between them, as SQLite's writer keeps its own. Taken from the pool
    /// for each batch, the appends spread evenly over the twenty-odd PostgreSQL backends that reads keep open; on one
    /// backend PostgreSQL spends less per event, and ingest is 7–13 % faster (bench/RESULTS.md, eleventh session).
    /// </summary>
    NpgsqlConnection? writerConnection;

    /// <summary>
    /// Defaults for a server that sends the same few statements all day, unless the connection string says otherwise:
    /// prepare them once per connection (planning the append cost PostgreSQL about a third of its time), and hand a
    /// pooled connection back without DISCARD ALL, a round trip per use (no statement here leaves session state).
    /// Prepared, the statements are also planned once (plan_cache_mode, a server option, so it outlasts any reset;
    /// an operator who gives server options of their own decides it with them):
    /// otherwise PostgreSQL plans those that take arrays (the append, the waybill reads) again on every call, as a plan
    /// for the arrays' actual lengths always looks cheaper than the generic one. That was about an eighth of PostgreSQL's
    /// time under ingest (bench/RESULTS.md, twelfth session). The generic plans are the same index lookups.
    /// </summary>
    internal static string Tuned(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.Contains("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        if (builder.MaxAutoPrepare > 0 && !given.Contains("Options"))
        {
            builder.Options = "-c plan_cache_mode=force_generic_plan";
        }

        if (!given.Contains("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    public override async Task MigrateAsync(Action<string>? upgrading, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Migrations run without a command timeout: rebuilding the keys of a large store takes minutes, and so may
        // waiting for another node that is migrating.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await MigrationStatementAsync(connection, transaction, "SELECT pg_advisory_xact_lock($1)", cancellationToken, MigrationLockKey);
        await MigrationStatementAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)", cancellationToken);
        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        foreach (var (version, name, sql) in SqlScripts.Load("Postgres").Where(s => !applied.Contains(s.Version)))
        {
            if (applied.Count > 0)
            {
                upgrading?.Invoke(name);
            }

            await MigrationStatementAsync(connection, transaction, sql, cancellationToken);
            await MigrationStatementAsync(
                connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", cancellationToken, version, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public override async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
            var latest = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
            return latest == LatestSchema;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    public override async Task<bool> AddAppAsync(AppRecord app, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "INSERT INTO apps (appid, role, name, delivery_id, secret_hash, created_at, push_url, push_token, push_format) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            cancellationToken,
            app.AppId.Value,
            app.Role == AppRole.Carrier ? "carrier" : "merchant",
            app.Name,
            app.DeliveryId?.Value,
            app.SecretHash,
            app.CreatedAt,
            app.Push?.Url,
            app.Push?.Token,
            app.Push is null ? null : app.Push.Format == PushFormat.Json ? "json" : "xml") == 1;

    public override Task<AppRecord?> FindAppAsync(AppId appId, CancellationToken cancellationToken = default) =>
        QueryAppAsync("appid = $1", appId.Value, cancellationToken);

    public override Task<AppRecord?> FindCarrierAsync(DeliveryId deliveryId, CancellationToken cancellationToken = default) =>
        QueryAppAsync("delivery_id = $1", deliveryId.Value, cancellationToken);

    public override async Task<TokenIssue> IssueClientCredentialTokenAsync(
        AccessTokenRecord token, byte[] secretHash, long retireOthersAt, long dayStart, int dailyLimit, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // One issuer at a time per app, so that the daily count and the retirement are exact across nodes.
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext($1))", cancellationToken, "token:" + token.AppId.Value);
        if (!await HasSecretAsync(connection, transaction, token.AppId, secretHash, cancellationToken))
        {
            return TokenIssue.SecretReset;
        }

        await using (var count = new NpgsqlCommand("SELECT COUNT(*) FROM access_tokens WHERE appid = $1 AND kind = 0 AND issued_at >= $2", connection, transaction))
        {
            count.Parameters.Add(new() { Value = token.AppId.Value });
            count.Parameters.Add(new() { Value = dayStart });
            if ((long)(await count.ExecuteScalarAsync(cancellationToken))! >= dailyLimit)
            {
                return TokenIssue.DailyLimitReached;
            }
        }

        await ExecuteAsync(
            connection,
            transaction,
            "UPDATE access_tokens SET revoked_at = $1 WHERE appid = $2 AND kind = 0 AND (revoked_at IS NULL OR revoked_at > $1)",
            cancellationToken,
            retireOthersAt,
            token.AppId.Value);
        await ExecuteAsync(connection, transaction, "DELETE FROM access_tokens WHERE appid = $1 AND expires_at < $2", cancellationToken, token.AppId.Value, dayStart - 86_400);
        await InsertAccessTokenAsync(connection, transaction, token, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TokenIssue.Issued;
    }

    /// <summary>
    /// Whether the app's secret is still the one a caller checked. The row stays locked against a reset until the
    /// transaction ends, and a reset that holds it first is waited for and its secret read: either way no token is
    /// issued after a reset commits on a secret checked before it.
    /// </summary>
    static async Task<bool> HasSecretAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, AppId appId, byte[] secretHash, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM apps WHERE appid = $1 AND secret_hash = $2 FOR SHARE", connection, transaction);
        command.Parameters.Add(new() { Value = appId.Value });
        command.Parameters.Add(new() { Value = secretHash });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public override async Task<bool> ResetSecretAsync(AppId appId, byte[] secretHash, long now, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await ExecuteAsync(connection, transaction, "UPDATE apps SET secret_hash = $1 WHERE appid = $2", cancellationToken, secretHash, appId.Value) != 1)
        {
            return false;
        }

        await ExecuteAsync(
            connection,
            transaction,
            "UPDATE access_tokens SET revoked_at = $1 WHERE appid = $2 AND (revoked_at IS NULL OR revoked_at > $1)",
            cancellationToken,
            now,
            appId.Value);
        await ExecuteAsync(connection, transaction, "DELETE FROM stable_tokens WHERE appid = $1", cancellationToken, appId.Value);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<AccessTokenRecord?> FindAccessTokenAsync(byte[] hash, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("SELECT appid, kind, issued_at, expires_at, revoked_at FROM access_tokens WHERE token_hash = $1");
        command.Parameters.Add(new() { Value = hash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || !AppId.TryParse(reader.GetString(0), out var appId))
        {
            return null;
        }

        return new AccessTokenRecord(
            hash, appId, (AccessTokenKind)reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetInt64(4));
    }

    public override async Task<StableTokenState?> FindStableTokenAsync(AppId appId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT nonce, issued_at, expires_at, last_force_at, force_day, force_count FROM stable_tokens WHERE appid = $1");
        command.Parameters.Add(new() { Value = appId.Value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StableTokenState(
            appId, (byte[])reader.GetValue(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt32(5));
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
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await HasSecretAsync(connection, transaction, next.AppId, secretHash, cancellationToken))
        {
            return TokenIssue.SecretReset;
        }

        object?[] state = [next.AppId.Value, next.Nonce, next.IssuedAt, next.ExpiresAt, next.LastForceAt, next.ForceDay, next.ForceCount];
        var changed = expectedNonce is null
            ? await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO stable_tokens (appid, nonce, issued_at, expires_at, last_force_at, force_day, force_count) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (appid) DO NOTHING",
                cancellationToken,
                state)
            : await ExecuteAsync(
                connection,
                transaction,
                "UPDATE stable_tokens SET nonce = $2, issued_at = $3, expires_at = $4, last_force_at = $5, force_day = $6, force_count = $7 " +
                "WHERE appid = $1 AND nonce = $8",
                cancellationToken,
                [.. state, expectedNonce]);
        if (changed == 0)
        {
            return TokenIssue.Superseded;
        }

        if (previousHash is not null && retirePreviousAt is { } retireAt)
        {
            await ExecuteAsync(
                connection,
                transaction,
                "UPDATE access_tokens SET revoked_at = $1 WHERE token_hash = $2 AND (revoked_at IS NULL OR revoked_at > $1)",
                cancellationToken,
                retireAt,
                previousHash);
        }

        await ExecuteAsync(
            connection, transaction, "DELETE FROM access_tokens WHERE appid = $1 AND kind = 1 AND expires_at < $2", cancellationToken, next.AppId.Value, next.IssuedAt - 86_400);
        await InsertAccessTokenAsync(connection, transaction, token, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TokenIssue.Issued;
    }

    public override async Task<bool> AddWaybillAsync(WaybillRecord waybill, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "INSERT INTO waybills (delivery_id, waybill_id, token_hash, merchant_appid, order_id, openid, path_version, created_at, updated_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT DO NOTHING",
            cancellationToken,
            waybill.Key.DeliveryId.Value,
            waybill.Key.WaybillId.Value,
            waybill.TokenHash,
            waybill.MerchantAppId?.Value,
            waybill.OrderId,
            waybill.OpenId,
            waybill.CreatedAt) == 1;

    public override async Task<WaybillRecord?> FindWaybillAsync(WaybillKey key, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.WaybillColumns} FROM waybills WHERE delivery_id = $1 AND waybill_id = $2");
        command.Parameters.Add(new() { Value = key.DeliveryId.Value });
        command.Parameters.Add(new() { Value = key.WaybillId.Value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.Waybill(reader, key) : null;
    }

    public override async Task<IReadOnlyDictionary<WaybillKey, WaybillRecord>> FindWaybillsAsync(
        IReadOnlyCollection<WaybillKey> keys, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT delivery_id, waybill_id, {StoreRows.WaybillColumns} FROM waybills " +
            "WHERE (delivery_id, waybill_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))");
        command.Parameters.Add(new() { Value = keys.Select(k => k.DeliveryId.Value).ToArray() });
        command.Parameters.Add(new() { Value = keys.Select(k => k.WaybillId.Value).ToArray() });
        var found = new Dictionary<WaybillKey, WaybillRecord>(keys.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (StoreRows.KeyedWaybill(reader) is { } waybill)
            {
                found[waybill.Key] = waybill;
            }
        }

        return found;
    }

    /// <summary>
    /// One transaction, one round trip: lock the batch's waybills in key order (so that two nodes appending to the
    /// same waybills queue up instead of deadlocking), insert every event with ON CONFLICT DO NOTHING, and bump each
    /// waybill's version by the number of events it really gained. The lock returns the locked waybills' token hashes:
    /// an event sent with a token hash is inserted only where its waybill has that hash, and its outcome says why not.
    /// The two statements go without BEGIN or COMMIT: PostgreSQL runs what is sent before one Sync as one implicit
    /// transaction and commits it before it reports ready, so the reader's end (its disposal reads up to that report,
    /// and throws if the commit failed) is the durable commit. An explicit transaction cost a second round trip per
    /// batch for the COMMIT (bench/RESULTS.md: about an eighth more events/s without it).
    /// The statements are in Statements/append_*.sql, which bench/pg-append.sh runs as they are.
    /// Appends share one connection, kept open between them (see <see cref="writerConnection"/>).
    /// </summary>
    public override async Task<AppendOutcome[]> AppendEventsAsync(
        IReadOnlyList<(WaybillKey Key, PathEvent Event)> events,
        long receivedAtMs,
        IReadOnlyList<byte[]?>? tokenHashes = null,
        CancellationToken cancellationToken = default)
    {
        await writerLock.WaitAsync(cancellationToken);
        try
        {
            try
            {
                return await AppendOnWriterConnectionAsync();
            }
            catch (NpgsqlException) when (writerConnection is { State: not ConnectionState.Open })
            {
                // The kept connection is gone: PostgreSQL restarted or ended it while it waited. Once more on a new
                // one. Appending is idempotent, so a batch committed just before the loss comes back as duplicates.
                await DropWriterConnectionAsync();
                return await AppendOnWriterConnectionAsync();
            }
        }
        catch
        {
            await DropWriterConnectionAsync();
            throw;
        }
        finally
        {
            writerLock.Release();
        }

        async Task<AppendOutcome[]> AppendOnWriterConnectionAsync()
        {
            writerConnection ??= await dataSource.OpenConnectionAsync(cancellationToken);
            return await AppendAsync(writerConnection, events, receivedAtMs, tokenHashes, MaxEventsPerWaybill, cancellationToken);
        }
    }

    async Task DropWriterConnectionAsync()
    {
        if (writerConnection is not null)
        {
            await writerConnection.DisposeAsync();
            writerConnection = null;
        }
    }

    /// <summary>The waybill reads of updatePath, done by the append instead (see <see cref="Store.AppendEventsAsync"/>).</summary>
    public override bool ChecksTokensInAppend => true;

    static async Task<AppendOutcome[]> AppendAsync(
        NpgsqlConnection connection,
        IReadOnlyList<(WaybillKey Key, PathEvent Event)> events,
        long receivedAtMs,
        IReadOnlyList<byte[]?>? tokenHashes,
        int maxEvents,
        CancellationToken cancellationToken)
    {
        var deliveryIds = events.Select(e => e.Key.DeliveryId.Value).ToArray();
        var waybillIds = events.Select(e => e.Key.WaybillId.Value).ToArray();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(AppendLockSql)
                {
                    Parameters = { Param(deliveryIds), Param(waybillIds) },
                },
                new NpgsqlBatchCommand(maxEvents > 0 ? AppendEventsLimitedSql : AppendEventsSql)
                {
                    Parameters =
                    {
                        Param(deliveryIds),
                        Param(waybillIds),
                        Param(events.Select(e => e.Event.ActionTime).ToArray()),
                        Param(events.Select(e => e.Event.ActionType).ToArray()),
                        Param(events.Select(e => e.Event.ActionMsg).ToArray()),
                        Param(receivedAtMs),
                        Param(receivedAtMs / 1000),
                        Param(tokenHashes?.ToArray() ?? new byte[]?[events.Count]),
                    },
                },
            },
        };
        if (maxEvents > 0)
        {
            batch.BatchCommands[1].Parameters.Add(Param((long)maxEvents));
        }

        // The locked waybills' token hashes, what the insert compared the given hashes with in the same transaction;
        // read only when some were given.
        var locked = new Dictionary<(string, string), byte[]>();
        var stored = new Dictionary<(string, string, long, int, string), int>();
        HashSet<(string, string, long, int, string)>? refused = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (tokenHashes is not null && await reader.ReadAsync(cancellationToken))
            {
                locked[(reader.GetString(0), reader.GetString(1))] = reader.GetFieldValue<byte[]>(2);
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetString(4));
                if (maxEvents > 0 && reader.GetBoolean(5))
                {
                    (refused ??= []).Add(row);
                }
                else
                {
                    stored[row] = stored.GetValueOrDefault(row) + 1;
                }
            }
        }

        var outcomes = new AppendOutcome[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var (key, e) = events[i];
            var row = (key.DeliveryId.Value, key.WaybillId.Value, e.ActionTime, e.ActionType, e.ActionMsg);
            if (tokenHashes?[i] is { } tokenHash)
            {
                if (!locked.TryGetValue((row.Item1, row.Item2), out var waybillHash))
                {
                    outcomes[i] = AppendOutcome.WaybillNotFound;
                    continue;
                }

                if (!tokenHash.AsSpan().SequenceEqual(waybillHash))
                {
                    outcomes[i] = AppendOutcome.TokenIncorrect;
                    continue;
                }
            }

            if (stored.TryGetValue(row, out var left) && left > 0)
            {
                stored[row] = left - 1;
                outcomes[i] = AppendOutcome.Stored;
            }
            else
            {
                outcomes[i] = refused?.Contains(row) == true ? AppendOutcome.PathFull : AppendOutcome.Duplicate;
            }
        }

        return outcomes;
    }

    /// <summary>
    /// The append statement with a limit of events per waybill ($9): the full_paths CTE of <paramref name="limit"/> before
    /// the insert, which leaves out what it refuses, and its rows returned after the inserted ones, flagged. Built once,
    /// so that the statement without a limit, the one the benchmarks run, stays as it is.
    /// </summary>
    static string WithLimit(string append, string limit)
    {
        static string Once(string sql, string anchor, string replacement) =>
            sql.IndexOf(anchor, StringComparison.Ordinal) is var at and >= 0 && sql.IndexOf(anchor, at + 1, StringComparison.Ordinal) < 0
                ? string.Concat(sql.AsSpan(0, at), replacement, sql.AsSpan(at + anchor.Length))
                : throw new InvalidOperationException($"append_events.sql has no single '{anchor.Trim()}' to add the limit at");

        const string Inserted = "inserted AS (";
        const string InsertOrder = "    ORDER BY ord\n";
        const string Returned = "SELECT delivery_id, waybill_id, action_time, action_type, action_msg FROM inserted";
        var sql = append.ReplaceLineEndings("\n").TrimEnd();
        sql = Once(sql, Inserted, limit.ReplaceLineEndings("\n").TrimEnd() + "\n" + Inserted);
        sql = Once(sql, InsertOrder, """
                AND NOT EXISTS (
                    SELECT 1 FROM full_paths p
                    WHERE p.delivery_id = i.delivery_id AND p.waybill_id = i.waybill_id
                    AND p.action_time = i.action_time AND p.action_type = i.action_type AND p.action_msg = i.action_msg)

            """ + InsertOrder);
        return Once(sql, Returned, Returned.Replace(" FROM inserted", ", false AS full_path FROM inserted", StringComparison.Ordinal) +
            "\nUNION ALL\nSELECT delivery_id, waybill_id, action_time, action_type, action_msg, true FROM full_paths");
    }

    public override async Task<IReadOnlyList<PathEvent>> ReadPathAsync(WaybillKey key, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT action_time, action_type, action_msg FROM path_events WHERE delivery_id = $1 AND waybill_id = $2 ORDER BY action_time, seq");
        command.Parameters.Add(new() { Value = key.DeliveryId.Value });
        command.Parameters.Add(new() { Value = key.WaybillId.Value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var path = new List<PathEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            path.Add(new PathEvent(reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)));
        }

        return path;
    }

    public override async Task<bool> AddCloudEnvAsync(CloudEnvRecord env, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (env.IsDefault)
        {
            await ExecuteAsync(connection, transaction, "UPDATE cloud_envs SET is_default = false WHERE is_default", cancellationToken);
        }

        var added = await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO cloud_envs (env, appid, secret_id, permissions, is_default, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            cancellationToken,
            env.Env,
            env.AppId.Value,
            env.SecretId,
            string.Join(',', env.Permissions.Order(StringComparer.Ordinal)),
            env.IsDefault,
            env.CreatedAt);
        if (added == 0)
        {
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<CloudEnvRecord?> FindCloudEnvAsync(string env, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.CloudEnvColumns} FROM cloud_envs WHERE ($1 <> '' AND env = $1) OR ($1 = '' AND is_default)");
        command.Parameters.Add(new() { Value = WithoutNul(env) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.CloudEnv(reader) : null;
    }

    public override async Task<bool> SetPushTargetAsync(AppId appId, PushTarget? target, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE apps SET push_url = $1, push_token = $2, push_format = $3 WHERE appid = $4",
            cancellationToken,
            target?.Url,
            target?.Token,
            target is null ? null : target.Format == PushFormat.Json ? "json" : "xml",
            appId.Value) == 1;

    /// <summary>SKIP LOCKED: nodes claiming at once take different rows, and no row is delivered by two of them.</summary>
    public override async Task<IReadOnlyList<PushJob>> ClaimPushesAsync(long nowMs, long leaseMs, int max, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE push_outbox o SET claimed_until = $1
            FROM (SELECT delivery_id, waybill_id FROM push_outbox
                  WHERE status = 'pending' AND next_attempt_at <= $2 AND claimed_until <= $2
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
            WHERE o.delivery_id = due.delivery_id AND o.waybill_id = due.waybill_id
            RETURNING o.delivery_id, o.waybill_id, o.merchant_appid, o.version, o.attempts
            """);
        command.Parameters.Add(Param(nowMs + leaseMs));
        command.Parameters.Add(Param(nowMs));
        command.Parameters.Add(Param(max));
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

    public override Task CompletePushAsync(WaybillKey key, long deliveredVersion, long nowMs, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            """
            UPDATE push_outbox SET
                status = CASE WHEN version <= $1 THEN 'delivered' ELSE 'pending' END,
                delivered_version = GREATEST(delivered_version, $1), attempts = 0, next_attempt_at = $2, claimed_until = 0,
                last_error = NULL, updated_at = $2
            WHERE delivery_id = $3 AND waybill_id = $4
            """,
            cancellationToken,
            deliveredVersion,
            nowMs,
            key.DeliveryId.Value,
            key.WaybillId.Value);

    public override Task FailPushAsync(WaybillKey key, int attempts, long? nextAttemptAtMs, string error, long nowMs, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            """
            UPDATE push_outbox SET
                status = CASE WHEN $1::bigint IS NULL THEN 'dead' ELSE 'pending' END,
                attempts = $2, next_attempt_at = COALESCE($1::bigint, next_attempt_at), claimed_until = 0, last_error = $3, updated_at = $4
            WHERE delivery_id = $5 AND waybill_id = $6
            """,
            cancellationToken,
            nextAttemptAtMs,
            attempts,
            error,
            nowMs,
            key.DeliveryId.Value,
            key.WaybillId.Value);

    public override Task<int> ReplayPushesAsync(AppId merchant, WaybillKey? key, long nowMs, CancellationToken cancellationToken = default)
    {
        object?[] parameters = key is { } k ? [nowMs, merchant.Value, k.DeliveryId.Value, k.WaybillId.Value] : [nowMs, merchant.Value];
        return ExecuteAsync(
            "UPDATE push_outbox SET status = 'pending', attempts = 0, next_attempt_at = LEAST(next_attempt_at, $1), claimed_until = 0, updated_at = $1 " +
            "WHERE merchant_appid = $2 AND " + (key is null ? "status = 'dead'" : "delivery_id = $3 AND waybill_id = $4"),
            cancellationToken,
            parameters);
    }

    public override async Task<(long PendingPushes, long SizeBytes)> StatisticsAsync(CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT (SELECT COUNT(*) FROM push_outbox WHERE status = 'pending'), pg_database_size(current_database())");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The insert and the trim of the calls' apps, in one round trip and one (implicit) transaction.</summary>
    public override async Task AddCallsAsync(IReadOnlyList<CallRecord> calls, int keepPerApp, CancellationToken cancellationToken = default)
    {
        var appIds = calls.Select(c => c.AppId.Value).ToArray();
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "INSERT INTO call_log (appid, at, api, waybill_id, errcode, reason, rid) " +
            "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[])")
        {
            Parameters =
            {
                Param(appIds),
                Param(calls.Select(c => c.AtMs).ToArray()),
                Param(calls.Select(c => c.Api).ToArray()),
                Param(calls.Select(c => c.WaybillId).ToArray()),
                Param(calls.Select(c => c.ErrCode).ToArray()),
                Param(calls.Select(c => c.Reason).ToArray()),
                Param(calls.Select(c => c.Rid).ToArray()),
            },
        });
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            "DELETE FROM call_log c USING unnest($1::text[]) AS a (appid) " +
            "WHERE c.appid = a.appid AND c.id <= (SELECT k.id FROM call_log k WHERE k.appid = a.appid ORDER BY k.id DESC OFFSET $2 LIMIT 1)")
        {
            Parameters = { Param(appIds.Distinct().ToArray()), Param(keepPerApp) },
        });
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public override async Task<IReadOnlyList<CallRecord>> ListCallsAsync(CallFilter filter, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.CallColumns} FROM call_log WHERE appid = $1 " +
            "AND ($2::text IS NULL OR waybill_id = $2::text) AND ($3::integer IS NULL OR errcode = $3::integer) AND ($4::text IS NULL OR rid = $4::text) " +
            "ORDER BY id DESC LIMIT $5");
        command.Parameters.Add(Param(filter.AppId.Value));
        command.Parameters.Add(Param(filter.WaybillId));
        command.Parameters.Add(filter.ErrCode is { } code ? Param(code) : Param(null));
        command.Parameters.Add(Param(filter.Rid));
        command.Parameters.Add(Param(filter.Limit));
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
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.OrderColumns} FROM orders WHERE merchant_appid = $1 AND order_id = $2");
        command.Parameters.Add(Param(merchant.Value));
        command.Parameters.Add(Param(orderId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.Order(reader, merchant, orderId) : null;
    }

    public override async Task<IReadOnlyDictionary<string, OrderRecord>> FindOrdersAsync(
        AppId merchant, IReadOnlyCollection<string> orderIds, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.OrderColumns}, order_id FROM orders WHERE merchant_appid = $1 AND order_id = ANY($2)");
        command.Parameters.Add(Param(merchant.Value));
        command.Parameters.Add(Param(orderIds.Distinct(StringComparer.Ordinal).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var found = new Dictionary<string, OrderRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var orderId = reader.GetString(8);
            if (StoreRows.Order(reader, merchant, orderId) is { } order)
            {
                found[orderId] = order;
            }
        }

        return found;
    }

    public override async Task<bool> AddOrderAsync(OrderRecord order, WaybillRecord waybill, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var added = await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO waybills (delivery_id, waybill_id, token_hash, merchant_appid, order_id, openid, path_version, created_at, updated_at) " +
            "VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT DO NOTHING",
            cancellationToken,
            waybill.Key.DeliveryId.Value, waybill.Key.WaybillId.Value, waybill.TokenHash, waybill.MerchantAppId?.Value, waybill.OrderId, waybill.OpenId, waybill.CreatedAt) == 1
            && await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO orders (merchant_appid, order_id, delivery_id, waybill_id, biz_id, openid, body, waybill_data, status, created_at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                cancellationToken,
                order.Merchant.Value, order.OrderId, order.Waybill.DeliveryId.Value, order.Waybill.WaybillId.Value, order.BizId, order.OpenId, order.Body,
                order.WaybillData, order.Status, order.CreatedAt) == 1;
        if (!added)
        {
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public override async Task<bool> CancelOrderAsync(AppId merchant, string orderId, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE orders SET status = 1 WHERE merchant_appid = $1 AND order_id = $2 AND status = 0", cancellationToken, merchant.Value, orderId) == 1;

    public override async Task<bool> SetServiceTypesAsync(AppId carrier, string serviceTypesJson, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE apps SET service_types = $1 WHERE appid = $2 AND role = 'carrier'", cancellationToken, serviceTypesJson, carrier.Value) == 1;

    protected override async Task<int> WriteAsync(string sql, (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, value is string text ? WithoutNul(text) : value));
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task<List<T>> QueryAsync<T>(
        string sql, (string Name, object Value)[] parameters, Func<System.Data.Common.DbDataReader, T?> map, CancellationToken cancellationToken)
        where T : class
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, value is string text ? WithoutNul(text) : value));
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAllAsync(reader, map, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        await writerLock.WaitAsync();
        try
        {
            await DropWriterConnectionAsync();
        }
        finally
        {
            writerLock.Release();
        }

        await dataSource.DisposeAsync();
    }

    async Task<AppRecord?> QueryAppAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {StoreRows.AppColumns} FROM apps WHERE {where}");
        command.Parameters.Add(new() { Value = WithoutNul(key) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? StoreRows.App(reader) : null;
    }

    static Task InsertAccessTokenAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AccessTokenRecord token, CancellationToken cancellationToken) =>
        ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO access_tokens (token_hash, appid, kind, issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6::bigint)",
            cancellationToken,
            token.Hash,
            token.AppId.Value,
            (int)token.Kind,
            token.IssuedAt,
            token.ExpiresAt,
            token.RevokedAt);

    /// <summary>
    /// A positional parameter; a null is sent as text, so SQL casts it where the column is not text. Text goes through
    /// <see cref="WithoutNul(string)"/>.
    /// </summary>
    static NpgsqlParameter Param(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
        string text => new NpgsqlParameter { Value = WithoutNul(text) },
        string?[] texts when Array.Exists(texts, t => t is not null && t.Contains('\0')) =>
            new NpgsqlParameter { Value = Array.ConvertAll(texts, t => t is null ? null : WithoutNul(t)) },
        _ => new NpgsqlParameter { Value = value },
    };

    /// <summary>
    /// PostgreSQL's text cannot hold U+0000, which SQLite's can and a caller can send (a \u0000 escape in JSON): the
    /// statement fails, and with it every call the inspector writes in the same batch. In a key looked up it is U+FFFD
    /// and matches nothing; in text kept for people (a call's reason, a push's last error) it is kept as U+FFFD.
    /// </summary>
    static string WithoutNul(string text) => text.Contains('\0') ? text.Replace('\0', '\uFFFD') : text;

    async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(Param(value));
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    static async Task<int> ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return await ExecuteAsync(command, parameters, cancellationToken);
    }

    /// <summary>A statement of a migration: no command timeout (30 s unless the connection string says otherwise).</summary>
    static async Task<int> MigrationStatementAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        return await ExecuteAsync(command, parameters, cancellationToken);
    }

    static async Task<int> ExecuteAsync(NpgsqlCommand command, object?[] parameters, CancellationToken cancellationToken)
    {
        foreach (var value in parameters)
        {
            command.Parameters.Add(Param(value));
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
