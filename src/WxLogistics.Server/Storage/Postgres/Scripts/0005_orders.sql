CREATE TABLE orders (
    merchant_appid  text NOT NULL,
    order_id        text NOT NULL,
    delivery_id     text NOT NULL,
    waybill_id      text NOT NULL,
    biz_id          text NOT NULL,
    openid          text,
    body            text NOT NULL,
    waybill_data    text NOT NULL,
    status          integer NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL,
    PRIMARY KEY (merchant_appid, order_id)
);

ALTER TABLE apps ADD COLUMN service_types text;

INSERT INTO apps (appid, role, name, delivery_id, secret_hash, created_at, service_types)
VALUES ('wxtestcarrier00000', 'carrier', '测试快递公司', 'TEST', sha256(random()::text::bytea), extract(epoch FROM now())::bigint,
        '[{"service_type":1,"service_name":"test_service"}]');
