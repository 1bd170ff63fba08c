WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $8::bytea[])
        WITH ORDINALITY AS i (delivery_id, waybill_id, action_time, action_type, action_msg, token_hash, ord)),
-- With a limit ($9 > 0): each event the batch would add (its waybill and token right, not stored yet; a repeat within
-- the batch once), numbered within its waybill after the path's stored events, whose count is its path version,
-- which the lock taken before this statement keeps still. Those numbered past the limit are refused.
full_paths AS (
    SELECT delivery_id, waybill_id, action_time, action_type, action_msg FROM (
        SELECT f.*, w.path_version + row_number() OVER (PARTITION BY f.delivery_id, f.waybill_id ORDER BY f.ord) AS n
        FROM (
            SELECT DISTINCT ON (delivery_id, waybill_id, action_time, action_type, action_msg) * FROM input i
            WHERE $9 > 0 AND NOT EXISTS (
                SELECT 1 FROM path_events e
                WHERE e.delivery_id = i.delivery_id AND e.waybill_id = i.waybill_id
                AND e.action_time = i.action_time AND e.action_type = i.action_type AND e.action_msg = i.action_msg)
            ORDER BY delivery_id, waybill_id, action_time, action_type, action_msg, ord) f
        JOIN waybills w ON w.delivery_id = f.delivery_id AND w.waybill_id = f.waybill_id
            AND (f.token_hash IS NULL OR w.token_hash = f.token_hash)) numbered
    WHERE n > $9),
inserted AS (
    INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, received_at)
    SELECT delivery_id, waybill_id, action_time, action_type, action_msg, $6 FROM input i
    -- An event with a token hash is stored only if its waybill exists with that token (updatePath, waybill not in memory).
    WHERE (i.token_hash IS NULL OR EXISTS (
        SELECT 1 FROM waybills w
        WHERE w.delivery_id = i.delivery_id AND w.waybill_id = i.waybill_id AND w.token_hash = i.token_hash))
    AND ($9 = 0 OR NOT EXISTS (
        SELECT 1 FROM full_paths p
        WHERE p.delivery_id = i.delivery_id AND p.waybill_id = i.waybill_id
        AND p.action_time = i.action_time AND p.action_type = i.action_type AND p.action_msg = i.action_msg))
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
SELECT delivery_id, waybill_id, action_time, action_type, action_msg, false AS full_path FROM inserted
UNION ALL
SELECT delivery_id, waybill_id, action_time, action_type, action_msg, true FROM full_paths
