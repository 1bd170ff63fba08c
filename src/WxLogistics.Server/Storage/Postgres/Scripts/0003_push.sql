ALTER TABLE apps ADD COLUMN push_url text;
ALTER TABLE apps ADD COLUMN push_token text;
ALTER TABLE apps ADD COLUMN push_format text;

CREATE TABLE push_outbox (
    delivery_id        text NOT NULL,
    waybill_id         text NOT NULL,
    merchant_appid     text NOT NULL,
    version            bigint NOT NULL,
    delivered_version  bigint NOT NULL DEFAULT 0,
    status             text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    bigint NOT NULL,
    claimed_until      bigint NOT NULL DEFAULT 0,
    last_error         text,
    updated_at         bigint NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id)
);

CREATE INDEX push_outbox_due ON push_outbox (status, next_attempt_at);
CREATE INDEX push_outbox_by_merchant ON push_outbox (merchant_appid, updated_at);
