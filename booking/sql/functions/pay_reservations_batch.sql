-- pay_reservations_batch: a group of payments in one transaction, each a subtransaction; locks every buyer first, in id order (first in 0003, this body since 0008).
--
-- The CURRENT body, exactly as PostgreSQL prints it (pg_get_functiondef). To change it,
-- edit this file and add a migration with the same statement: the booking test
-- stored_functions_match_their_files fails while the two differ.
CREATE OR REPLACE FUNCTION public.pay_reservations_batch(p_users bigint[], p_concerts bigint[], p_counts integer[], p_ids uuid[], p_keys text[], p_hashes text[], p_payments uuid[])
 RETURNS TABLE(o_idx integer, o_replayed boolean, o_status smallint, o_body jsonb, o_schedule_ids bigint[], o_seat_nos integer[], o_amount bigint, o_sqlstate text, o_detail text)
 LANGUAGE plpgsql
AS $function$
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
$function$

;
