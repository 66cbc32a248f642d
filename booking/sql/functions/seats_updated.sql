-- seats_updated: statement trigger on seats: appends the inventory delta of status changes (migration 0009).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.seats_updated()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO inventory_deltas (schedule_id, d_total, d_held, d_sold)
    SELECT n.schedule_id, 0,
           sum((n.status = 'HELD')::INT - (o.status = 'HELD')::INT),
           sum((n.status = 'SOLD')::INT - (o.status = 'SOLD')::INT)
      FROM new_seats n JOIN old_seats o USING (schedule_id, seat_no)
     WHERE n.status <> o.status
     GROUP BY n.schedule_id;
    RETURN NULL;
END;
$function$

;
