SELECT delivery_id, waybill_id, token_hash FROM waybills WHERE (delivery_id, waybill_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY delivery_id, waybill_id FOR UPDATE
