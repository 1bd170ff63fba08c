-- The call inspector: each app's most recent calls (trimmed to the last 1000 per app), with the reason of a
-- rejection and the rid of its errmsg. Never secrets, tokens or bodies.
CREATE TABLE call_log (
    id          INTEGER PRIMARY KEY,
    appid       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    api         TEXT NOT NULL,
    waybill_id  TEXT,
    errcode     INTEGER NOT NULL,
    reason      TEXT,
    rid         TEXT
);

CREATE INDEX call_log_by_app ON call_log (appid, id);
