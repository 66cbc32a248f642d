-- 1. One lock order for holds and group payments: users -> seats -> reservations.
--    A group used to lock each buyer just before that buyer's seats (user A, A's seats,
--    user B, B's seats, ...), so a hold by B that had locked B and then waited for one of
--    A's seat rows closed a cycle with the group waiting for B: a deadlock, found by
--    PostgreSQL's detector after deadlock_timeout while the payment worker stalls. Now the
--    group locks all its buyers first, in id order (booking sorts a group by user id
--    too), and only then runs the payments.
CREATE OR REPLACE FUNCTION pay_reservations_batch(
    p_users BIGINT[],
    p_concerts BIGINT[],
    p_counts INT[],
    p_ids UUID[],
    p_keys TEXT[],
    p_hashes TEXT[],
    p_payments UUID[]
) RETURNS TABLE (
    o_idx INT,
    o_replayed BOOLEAN,
    o_status SMALLINT,
    o_body JSONB,
    o_schedule_ids BIGINT[],
    o_seat_nos INT[],
    o_amount BIGINT,
    o_sqlstate TEXT,
    o_detail TEXT
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_from INT := 1;
    v_ids UUID[];
BEGIN
    PERFORM 1 FROM users WHERE id = ANY (p_users) ORDER BY id FOR UPDATE;
    FOR i IN 1 .. coalesce(cardinality(p_users), 0) LOOP
        v_ids := p_ids[v_from : v_from + p_counts[i] - 1];
        v_from := v_from + p_counts[i];
        o_idx := i;
        o_sqlstate := NULL;
        o_detail := NULL;
        BEGIN
            SELECT pay.o_replayed, pay.o_status, pay.o_body, pay.o_schedule_ids,
                   pay.o_seat_nos, pay.o_amount
              INTO o_replayed, o_status, o_body, o_schedule_ids, o_seat_nos, o_amount
              FROM pay_reservations(p_users[i], p_concerts[i], v_ids, p_keys[i], p_hashes[i],
                                    p_payments[i]) AS pay;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS o_sqlstate = RETURNED_SQLSTATE,
                                    o_detail = PG_EXCEPTION_DETAIL;
            o_replayed := NULL;
            o_status := NULL;
            o_body := NULL;
            o_schedule_ids := NULL;
            o_seat_nos := NULL;
            o_amount := NULL;
        END;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- 2. The hold sweeper reads only held rows: its cost follows the holds, not the seats ever
--    created (it used to scan every seat each second; reservations had this index since
--    0001).
CREATE INDEX seats_held_until ON seats (held_until) WHERE status = 'HELD';

-- 3. Saved answers are purged by age (idempotency.retention_hours).
CREATE INDEX idempotency_created_at ON idempotency (created_at);
