-- seats_inserted: statement trigger on seats: appends the inventory delta of new seats (migration 0009).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.seats_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO inventory_deltas (schedule_id, d_total, d_held, d_sold)
    SELECT schedule_id, count(*),
           count(*) FILTER (WHERE status = 'HELD'), count(*) FILTER (WHERE status = 'SOLD')
      FROM new_seats GROUP BY schedule_id;
    RETURN NULL;
END;
$function$

;
