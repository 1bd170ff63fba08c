CREATE TABLE call_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appid       text NOT NULL,
    at          bigint NOT NULL,
    api         text NOT NULL,
    waybill_id  text,
    errcode     integer NOT NULL,
    reason      text,
    rid         text
);

CREATE INDEX call_log_by_app ON call_log (appid, id);
