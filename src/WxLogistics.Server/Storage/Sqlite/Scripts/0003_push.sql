-- Message push settings of an app (its 消息推送 server): URL, the token it verifies signatures with, and xml or json.
ALTER TABLE apps ADD COLUMN push_url TEXT;
ALTER TABLE apps ADD COLUMN push_token TEXT;
ALTER TABLE apps ADD COLUMN push_format TEXT;

-- The outbox of add_express_path pushes: one row per waybill with a merchant, written in the same transaction as the
-- events. version is the path version to deliver (later changes coalesce into it); claimed_until is a delivery lease.
CREATE TABLE push_outbox (
    delivery_id        TEXT NOT NULL,
    waybill_id         TEXT NOT NULL,
    merchant_appid     TEXT NOT NULL,
    version            INTEGER NOT NULL,
    delivered_version  INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    claimed_until      INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id)
) WITHOUT ROWID;

CREATE INDEX push_outbox_due ON push_outbox (status, next_attempt_at);
CREATE INDEX push_outbox_by_merchant ON push_outbox (merchant_appid, updated_at);
