-- hold_expired: whether a HELD row's hold has run out (the one rule every query uses; first in migration 0005).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.hold_expired(p_status text, p_held_until timestamp with time zone)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$ SELECT p_status = 'HELD' AND p_held_until <= now() $function$

;
