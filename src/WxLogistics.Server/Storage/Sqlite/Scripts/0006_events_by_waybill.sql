-- Each waybill's events stored together, in the order of the key that de-duplicates them: appending an event writes
-- one page (its waybill's), where the earlier layout wrote three (the table, the de-duplication index and the
-- waybill's row for its path version), and reading a path reads one or two pages instead of one per event.
-- seq is now the event's number within its waybill (1, 2, 3 ...): the path version is the waybill's largest seq.
CREATE TABLE path_events_by_waybill (
    delivery_id  TEXT NOT NULL,
    waybill_id   TEXT NOT NULL,
    action_time  INTEGER NOT NULL,
    action_type  INTEGER NOT NULL,
    action_msg   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id, action_time, action_type, action_msg)
) WITHOUT ROWID;

INSERT INTO path_events_by_waybill (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
SELECT delivery_id, waybill_id, action_time, action_type, action_msg,
       ROW_NUMBER() OVER (PARTITION BY delivery_id, waybill_id ORDER BY seq), received_at
FROM path_events;

DROP TABLE path_events;
ALTER TABLE path_events_by_waybill RENAME TO path_events;
ALTER TABLE waybills DROP COLUMN path_version;
