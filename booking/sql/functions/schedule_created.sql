-- schedule_created: row trigger on schedules: creates the schedule's inventory row (migration 0009).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.schedule_created()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO schedule_inventory (schedule_id, concert_id) VALUES (NEW.id, NEW.concert_id);
    RETURN NULL;
END;
$function$

;
