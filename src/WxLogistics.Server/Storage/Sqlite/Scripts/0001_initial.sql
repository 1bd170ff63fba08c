-- Apps: carriers (with their delivery_id) and merchants. Secrets are SHA-256 hashes.
CREATE TABLE apps (
    appid        TEXT PRIMARY KEY,
    role         TEXT NOT NULL CHECK (role IN ('carrier', 'merchant')),
    name         TEXT NOT NULL,
    delivery_id  TEXT UNIQUE,
    secret_hash  BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Issued access_tokens, by hash. kind 0: /cgi-bin/token, kind 1: /cgi-bin/stable_token.
CREATE TABLE access_tokens (
    token_hash  BLOB PRIMARY KEY,
    appid       TEXT NOT NULL,
    kind        INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;

CREATE INDEX access_tokens_by_app ON access_tokens (appid, kind, issued_at);

-- The current stable_token of each app; the token is derived from the server key and the nonce.
CREATE TABLE stable_tokens (
    appid          TEXT PRIMARY KEY,
    nonce          BLOB NOT NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_force_at  INTEGER NOT NULL,
    force_day      INTEGER NOT NULL,
    force_count    INTEGER NOT NULL
) WITHOUT ROWID;

-- Waybills, keyed by (delivery_id, waybill_id): the key leads every table about a waybill.
CREATE TABLE waybills (
    delivery_id     TEXT NOT NULL,
    waybill_id      TEXT NOT NULL,
    token_hash      BLOB NOT NULL,
    merchant_appid  TEXT,
    order_id        TEXT,
    openid          TEXT,
    path_version    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, waybill_id)
) WITHOUT ROWID;

-- Track events. seq is the arrival order; the unique key makes a repeated event a no-op.
CREATE TABLE path_events (
    seq          INTEGER PRIMARY KEY,
    delivery_id  TEXT NOT NULL,
    waybill_id   TEXT NOT NULL,
    action_time  INTEGER NOT NULL,
    action_type  INTEGER NOT NULL,
    action_msg   TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (delivery_id, waybill_id, action_time, action_type, action_msg)
);
