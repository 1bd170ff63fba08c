-- The keys of the path tables compare as bytes (COLLATE "C"), as SQLite's do, whatever the database's collation
-- (C.UTF-8, en_US.UTF-8, an ICU locale ...): lists and exports ordered by waybill come in the same order on both
-- stores, and index comparisons need no strcoll. Equality, hence the de-duplication and every lookup, is unchanged.
-- bench/pg-append.sh measures PostgreSQL's time for the append of a batch of 16 before and after: 7-8 % less on a
-- store of 2.6 M events, with the database in C.UTF-8 or in ICU's en-US (bench/RESULTS.md).
-- Only the collation changes, so the tables are not rewritten; their indexes on these columns are rebuilt.
ALTER TABLE waybills
    ALTER COLUMN delivery_id TYPE text COLLATE "C",
    ALTER COLUMN waybill_id TYPE text COLLATE "C";
ALTER TABLE path_events
    ALTER COLUMN delivery_id TYPE text COLLATE "C",
    ALTER COLUMN waybill_id TYPE text COLLATE "C",
    ALTER COLUMN action_msg TYPE text COLLATE "C";
ALTER TABLE push_outbox
    ALTER COLUMN delivery_id TYPE text COLLATE "C",
    ALTER COLUMN waybill_id TYPE text COLLATE "C";
