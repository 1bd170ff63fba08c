-- The accounts (biz_id) a merchant has bound with carriers (bindAccount), for getAllAccount. The account's password
-- is only passed on to the carrier in check_biz, never kept. Keys compare as bytes, as SQLite's do, so that the list
-- comes in the same order on both stores.
CREATE TABLE accounts (
    merchant_appid  text NOT NULL,
    delivery_id     text COLLATE "C" NOT NULL,
    biz_id          text COLLATE "C" NOT NULL,
    remark_content  text NOT NULL,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    PRIMARY KEY (merchant_appid, delivery_id, biz_id)
);
