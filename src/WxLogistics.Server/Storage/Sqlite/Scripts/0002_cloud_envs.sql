-- Cloud environments: a wx-server-sdk caller signs with the env's secretKey and acts as the env's app.
-- The secretKey is derived from the server key and secret_id, so it is not kept here.
CREATE TABLE cloud_envs (
    env          TEXT PRIMARY KEY,
    appid        TEXT NOT NULL,
    secret_id    TEXT NOT NULL UNIQUE,
    permissions  TEXT NOT NULL,
    is_default   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;
