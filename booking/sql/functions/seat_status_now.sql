-- seat_status_now: a seat's status as buyers see it now: AVAILABLE, HELD or SOLD (migration 0005).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.seat_status_now(p_status text, p_held_until timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ SELECT CASE WHEN hold_expired(p_status, p_held_until) THEN 'AVAILABLE' ELSE p_status END $function$

;
