-- The same model as the SQLite store. Every table about a waybill leads with (delivery_id, waybill_id),
-- the distribution key when the tables are spread over Citus workers (docs/scaling.md).
CREATE TABLE apps (
    appid        text PRIMARY KEY,
    role         text NOT NULL CHECK (role IN ('carrier', 'merchant')),
    name         text NOT NULL,
    delivery_id  text UNIQUE,
    secret_hash  bytea NOT NULL,
    created_at   bigint NOT NULL
);

CREATE TABLE access_tokens (
    token_hash  bytea PRIMARY KEY,
    appid       text NOT NULL,
    kind        integer NOT NULL,
    issued_at   bigint NOT NULL,
    expires_at  bigint NOT NULL,
    revoked_at  bigint
);

CREATE INDEX access_tokens_by_app ON access_tokens (appid, kind, issued_at);

CREATE TABLE stable_tokens (
    appid          text PRIMARY KEY,
    nonce          bytea NOT NULL,
    issued_at      bigint NOT NULL,
    expires_at     bigint NOT NULL,
    last_force_at  bigint NOT NULL,
    force_day      bigint NOT NULL,
    force_count    integer NOT NULL
);

CREATE TABLE waybills (
    delivery_id     text NOT NULL,
    waybill_id      text NOT NULL,
    token_hash      bytea NOT NULL,
    merchant_appid  text,
    order_id        text,
    openid          text,
    path_version    bigint NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id)
);

CREATE TABLE path_events (
    delivery_id  text NOT NULL,
    waybill_id   text NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    action_time  bigint NOT NULL,
    action_type  integer NOT NULL,
    action_msg   text NOT NULL,
    received_at  bigint NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id, seq),
    UNIQUE (delivery_id, waybill_id, action_time, action_type, action_msg)
);
