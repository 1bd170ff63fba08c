-- Orders placed with addOrder: the request body is kept (sender, receiver, cargo …) for the tracking page and
-- getContact; it holds personal data and is never logged.
CREATE TABLE orders (
    merchant_appid  TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    waybill_id      TEXT NOT NULL,
    biz_id          TEXT NOT NULL,
    openid          TEXT,
    body            TEXT NOT NULL,
    waybill_data    TEXT NOT NULL,
    status          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (merchant_appid, order_id)
) WITHOUT ROWID;

-- The service types a carrier offers (getAllDelivery), as JSON [{"service_type":1,"service_name":"…"}].
ALTER TABLE apps ADD COLUMN service_types TEXT;

-- The sandbox carrier TEST (biz_id test_biz_id) answers orders itself; no one can sign in as it.
INSERT INTO apps (appid, role, name, delivery_id, secret_hash, created_at, service_types)
VALUES ('wxtestcarrier00000', 'carrier', '测试快递公司', 'TEST', randomblob(32), unixepoch(),
        '[{"service_type":1,"service_name":"test_service"}]');
