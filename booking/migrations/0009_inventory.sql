-- Inventory per schedule: seats in total, held and sold, kept by the very statements that
-- create, hold, release, expire and sell seats (triggers on `seats`), so it never drifts
-- from the seats (the auditor checks it). The gateways' lines read it (seats left, sold out).
--
-- No hot row: a statement that changes seats only APPENDS its delta to inventory_deltas
-- (one row per schedule it touched; inserts never wait for each other, so the counters add
-- no lock and no lock order to holds and payments). Booking's publisher folds the deltas
-- into schedule_inventory about once a second, in one transaction, and publishes the
-- changed concerts' totals to Redis. A schedule's figures = its row + its pending deltas.
CREATE TABLE schedule_inventory (
    schedule_id BIGINT PRIMARY KEY REFERENCES schedules (id),
    concert_id  BIGINT NOT NULL REFERENCES concerts (id),
    total       INT NOT NULL DEFAULT 0,
    held        INT NOT NULL DEFAULT 0,
    sold        INT NOT NULL DEFAULT 0
);
CREATE INDEX schedule_inventory_concert ON schedule_inventory (concert_id);

CREATE TABLE inventory_deltas (
    schedule_id BIGINT NOT NULL,
    d_total     INT NOT NULL,
    d_held      INT NOT NULL,
    d_sold      INT NOT NULL
);

CREATE FUNCTION seats_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inventory_deltas (schedule_id, d_total, d_held, d_sold)
    SELECT schedule_id, count(*),
           count(*) FILTER (WHERE status = 'HELD'), count(*) FILTER (WHERE status = 'SOLD')
      FROM new_seats GROUP BY schedule_id;
    RETURN NULL;
END;
$$;

CREATE FUNCTION seats_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
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
$$;

CREATE TRIGGER seats_inventory_insert AFTER INSERT ON seats
    REFERENCING NEW TABLE AS new_seats
    FOR EACH STATEMENT EXECUTE FUNCTION seats_inserted();
CREATE TRIGGER seats_inventory_update AFTER UPDATE ON seats
    REFERENCING OLD TABLE AS old_seats NEW TABLE AS new_seats
    FOR EACH STATEMENT EXECUTE FUNCTION seats_updated();

-- The seats that exist already.
INSERT INTO schedule_inventory (schedule_id, concert_id, total, held, sold)
SELECT sc.id, sc.concert_id, count(s.seat_no),
       count(*) FILTER (WHERE s.status = 'HELD'), count(*) FILTER (WHERE s.status = 'SOLD')
  FROM schedules sc LEFT JOIN seats s ON s.schedule_id = sc.id
 GROUP BY sc.id, sc.concert_id;

-- New schedules get their row when created (before their seats).
CREATE FUNCTION schedule_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO schedule_inventory (schedule_id, concert_id) VALUES (NEW.id, NEW.concert_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER schedules_inventory AFTER INSERT ON schedules
    FOR EACH ROW EXECUTE FUNCTION schedule_created();
