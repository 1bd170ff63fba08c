-- What append_events.sql gains when a limit of events per waybill is set ($9, WxLogistics:MaxEventsPerWaybill),
-- put into it by PostgresStore (the statement without a limit stays as it is, and costs nothing more).
-- full_paths: each event the batch would add (waybill and token right, not stored yet; a repeat within the batch
-- once), numbered within its waybill after the path's stored events, whose count is the path version that the lock
-- taken before the statement keeps still. Those numbered past the limit are refused: not inserted, and returned.
full_paths AS (
    SELECT delivery_id, waybill_id, action_time, action_type, action_msg FROM (
        SELECT f.*, w.path_version + row_number() OVER (PARTITION BY f.delivery_id, f.waybill_id ORDER BY f.ord) AS n
        FROM (
            SELECT DISTINCT ON (delivery_id, waybill_id, action_time, action_type, action_msg) * FROM input i
            WHERE NOT EXISTS (
                SELECT 1 FROM path_events e
                WHERE e.delivery_id = i.delivery_id AND e.waybill_id = i.waybill_id
                AND e.action_time = i.action_time AND e.action_type = i.action_type AND e.action_msg = i.action_msg)
            ORDER BY delivery_id, waybill_id, action_time, action_type, action_msg, ord) f
        JOIN waybills w ON w.delivery_id = f.delivery_id AND w.waybill_id = f.waybill_id
            AND (f.token_hash IS NULL OR w.token_hash = f.token_hash)) numbered
    WHERE n > $9),
