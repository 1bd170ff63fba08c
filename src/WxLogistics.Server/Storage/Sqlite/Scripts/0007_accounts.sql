-- The accounts (biz_id) a merchant has bound with carriers (bindAccount), for getAllAccount. The account's password
-- is only passed on to the carrier in check_biz, never kept.
CREATE TABLE accounts (
    merchant_appid  TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    biz_id          TEXT NOT NULL,
    remark_content  TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (merchant_appid, delivery_id, biz_id)
) WITHOUT ROWID;
