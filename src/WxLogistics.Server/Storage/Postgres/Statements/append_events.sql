WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $8::bytea[])
        WITH ORDINALITY AS i (delivery_id, waybill_id, action_time, action_type, action_msg, token_hash, ord)),
inserted AS (
    INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, received_at)
    SELECT delivery_id, waybill_id, action_time, action_type, action_msg, $6 FROM input i
    -- An event with a token hash is stored only if its waybill exists with that token (updatePath, waybill not in memory).
    -- One condition in parentheses: with a limit, PostgresStore adds another before ORDER BY (append_events_limit.sql).
    WHERE (i.token_hash IS NULL OR EXISTS (
        SELECT 1 FROM waybills w
        WHERE w.delivery_id = i.delivery_id AND w.waybill_id = i.waybill_id AND w.token_hash = i.token_hash))
    ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING delivery_id, waybill_id, action_time, action_type, action_msg),
gained AS (
    SELECT delivery_id, waybill_id, COUNT(*) AS n FROM inserted GROUP BY delivery_id, waybill_id),
bumped AS (
    UPDATE waybills w SET path_version = w.path_version + c.n, updated_at = $7
    FROM gained c
    WHERE w.delivery_id = c.delivery_id AND w.waybill_id = c.waybill_id
    RETURNING w.delivery_id, w.waybill_id, w.merchant_appid, w.path_version),
outbox AS (
    INSERT INTO push_outbox (delivery_id, waybill_id, merchant_appid, version, status, attempts, next_attempt_at, updated_at)
    SELECT b.delivery_id, b.waybill_id, b.merchant_appid, b.path_version, 'pending', 0, $6, $6
    FROM bumped b JOIN apps a ON a.appid = b.merchant_appid AND a.push_url IS NOT NULL
    ON CONFLICT (delivery_id, waybill_id) DO UPDATE SET
        version = excluded.version,
        updated_at = excluded.updated_at,
        attempts = CASE WHEN push_outbox.status = 'pending' THEN push_outbox.attempts ELSE 0 END,
        next_attempt_at = CASE WHEN push_outbox.status = 'pending' THEN push_outbox.next_attempt_at ELSE excluded.next_attempt_at END,
        status = 'pending')
SELECT delivery_id, waybill_id, action_time, action_type, action_msg FROM inserted
