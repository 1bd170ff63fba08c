-- path_events is keyed by what de-duplicates it, as in SQLite: the primary key on (waybill, seq) was a second index
-- of text keys that every insert paid for and no query used (paths are read through the de-duplication key, in
-- action_time order, and seq only breaks ties). Under ingest this took about a sixth of PostgreSQL's insert time.
ALTER TABLE path_events DROP CONSTRAINT path_events_pkey;
ALTER TABLE path_events ADD CONSTRAINT path_events_pkey PRIMARY KEY (delivery_id, waybill_id, action_time, action_type, action_msg);
ALTER TABLE path_events DROP CONSTRAINT path_events_delivery_id_waybill_id_action_time_action_type__key;
