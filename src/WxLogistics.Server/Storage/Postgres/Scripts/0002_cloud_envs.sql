CREATE TABLE cloud_envs (
    env          text PRIMARY KEY,
    appid        text NOT NULL,
    secret_id    text NOT NULL UNIQUE,
    permissions  text NOT NULL,
    is_default   boolean NOT NULL DEFAULT false,
    created_at   bigint NOT NULL
);
