-- The labels a bound account had left when getQuota last asked its carrier, and when, for getAllAccount.
ALTER TABLE accounts ADD COLUMN quota_num INTEGER;
ALTER TABLE accounts ADD COLUMN quota_update_time INTEGER;
