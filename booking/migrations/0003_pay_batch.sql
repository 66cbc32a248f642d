-- Group commit of payments: several buyers' payments in ONE transaction (one round trip,
-- one commit, one WAL flush), each still all-or-nothing on its own.
--
-- Booking's payment workers (booking/src/payments/batch.rs) send the payments that queued
-- up while the previous group ran. Every payment is exactly one pay_reservations() call
-- (migration 0002: same checks, locks and results) inside its own BEGIN ... EXCEPTION
-- block, i.e. a subtransaction: a refused or failed payment rolls back only its own
-- changes and reports its SQLSTATE and DETAIL; the others commit together.
--
-- Arguments are parallel arrays, one element per payment, except p_ids: the payments'
-- reservation ids one after the other, p_counts[i] of them for payment i (arrays of
-- arrays must be rectangular in PostgreSQL). Booking sorts a group by user id, so two
-- groups lock buyers' rows in the same order and cannot deadlock on them.
--
-- Returns one row per payment, in argument order (o_idx = 1, 2, ...): pay_reservations'
-- columns, or o_sqlstate/o_detail of the error that refused it (all else NULL).

CREATE FUNCTION pay_reservations_batch(
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
