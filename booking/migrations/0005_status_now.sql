-- "What counts as available", defined once. A hold past its deadline is over at once —
-- its seat is AVAILABLE and its reservation EXPIRED for listing, holding and paying —
-- whether or not the hold sweeper has reset the rows yet. Every query that shows or takes
-- a seat says so through these functions instead of restating the rule. They are plain
-- SQL expressions, so the planner inlines them (and still uses the indexes on `status`).

CREATE FUNCTION hold_expired(p_status TEXT, p_held_until TIMESTAMPTZ) RETURNS BOOLEAN
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT p_status = 'HELD' AND p_held_until <= now() $$;

-- A seat's status as buyers see it now: AVAILABLE, HELD or SOLD.
CREATE FUNCTION seat_status_now(p_status TEXT, p_held_until TIMESTAMPTZ) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN hold_expired(p_status, p_held_until) THEN 'AVAILABLE' ELSE p_status END $$;

-- A reservation's status as buyers see it now: HELD, CONFIRMED, EXPIRED or RELEASED.
CREATE FUNCTION reservation_status_now(p_status TEXT, p_held_until TIMESTAMPTZ) RETURNS TEXT
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN hold_expired(p_status, p_held_until) THEN 'EXPIRED' ELSE p_status END $$;
