-- A payment in ONE statement: the whole payment transaction (see booking/src/payments.rs)
-- as a function, so booking sends one round trip and PostgreSQL commits once, instead of
-- eleven round trips inside BEGIN ... COMMIT. Same steps, same lock order
-- (users -> seats -> reservations), same checks in the same order. The idempotency row is
-- written once, with the response, at the end: the buyer's row lock orders calls with
-- the same key (a second call waits, then sees the saved response).
--
-- A refused payment RAISEs with a 'TB...' SQLSTATE that booking maps to its problem code;
-- the raise rolls back everything the call did, so a refused payment changes nothing and
-- may be retried with the same key.
--   TB422 idempotency key reused with another request   TB404 a reservation does not exist
--   TB403 a reservation is another buyer's (DETAIL: id)  TB4WC another concert (DETAIL: id)
--   TB409 a hold ran out                                 TB4NH not HELD (DETAIL: status)
--   TB402 balance below the total (DETAIL: 'balance amount')
-- A replay (same key, same request) returns the saved response and changes nothing.

CREATE FUNCTION pay_reservations(
    p_user BIGINT,
    p_concert BIGINT,
    p_ids UUID[],
    p_key TEXT,
    p_hash TEXT,
    p_payment UUID
) RETURNS TABLE (
    o_replayed BOOLEAN,
    o_status SMALLINT,
    o_body JSONB,
    o_schedule_ids BIGINT[],
    o_seat_nos INT[],
    o_amount BIGINT
)
LANGUAGE plpgsql
-- Plan each statement once per connection (every one is a primary-key or unique-index
-- lookup whatever the arguments), not again on every call.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_balance BIGINT;
    v_amount BIGINT := 0;
    v_found INT := 0;
    v_changed INT;
    v_paid_at TIMESTAMPTZ;
    v_body JSONB;
    v_err TEXT;
    v_detail TEXT := '';
    v_schedules BIGINT[] := '{}';
    v_seats INT[] := '{}';
    r RECORD;
BEGIN
    -- 1. Lock the buyer: one payment per buyer at a time, so two calls with the same key
    --    run one after the other. A buyer with no row has no reservations either, so
    --    step 3 refuses the call.
    SELECT u.balance INTO v_balance FROM users u WHERE u.id = p_user FOR UPDATE;
    v_balance := coalesce(v_balance, 0);

    -- 2. A key already used: replay the saved response (same request) or refuse (another).
    --    The lock above made any earlier call with this key commit or roll back first, and
    --    this statement's snapshot sees its outcome.
    SELECT i.request_hash, i.status, i.body INTO r
      FROM idempotency i
     WHERE i.user_id = p_user AND i.scope = 'payment' AND i.key = p_key;
    IF FOUND THEN
        IF r.request_hash <> p_hash THEN
            RAISE EXCEPTION 'idempotency key reused' USING ERRCODE = 'TB422';
        END IF;
        RETURN QUERY SELECT true, r.status, r.body, NULL::BIGINT[], NULL::INT[], NULL::BIGINT;
        RETURN;
    END IF;

    -- 3. Check the reservations (first problem in id order wins; a missing one first).
    FOR r IN
        SELECT res.id, res.user_id, res.concert_id, res.schedule_id, res.seat_no, res.price,
               res.status, res.held_until > now() AS live
          FROM reservations res
         WHERE res.id = ANY (p_ids)
         ORDER BY res.id
    LOOP
        v_found := v_found + 1;
        IF v_err IS NULL THEN
            IF r.user_id <> p_user THEN
                v_err := 'TB403'; v_detail := r.id::TEXT;
            ELSIF r.concert_id <> p_concert THEN
                v_err := 'TB4WC'; v_detail := r.concert_id::TEXT;
            ELSIF r.status = 'HELD' AND r.live THEN
                NULL;
            ELSIF r.status IN ('HELD', 'EXPIRED') THEN
                v_err := 'TB409';
            ELSE
                v_err := 'TB4NH'; v_detail := r.status;
            END IF;
        END IF;
        v_amount := v_amount + r.price;
        v_schedules := v_schedules || r.schedule_id;
        v_seats := v_seats || r.seat_no;
    END LOOP;
    IF v_found <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'TB404';
    END IF;
    IF v_err IS NOT NULL THEN
        RAISE EXCEPTION 'payment refused' USING ERRCODE = v_err, DETAIL = v_detail;
    END IF;

    -- 4. The balance must cover the total.
    IF v_balance < v_amount THEN
        RAISE EXCEPTION 'insufficient balance'
            USING ERRCODE = 'TB402', DETAIL = v_balance::TEXT || ' ' || v_amount::TEXT;
    END IF;

    -- 5. Seats HELD by these reservations -> SOLD, every one or the hold was lost.
    UPDATE seats SET status = 'SOLD', held_until = NULL
     WHERE reservation_id = ANY (p_ids) AND status = 'HELD' AND held_until > now();
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    IF v_changed <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'hold lost' USING ERRCODE = 'TB409';
    END IF;

    -- 6. Payment row, reservations -> CONFIRMED.
    INSERT INTO payments (id, user_id, concert_id, amount)
    VALUES (p_payment, p_user, p_concert, v_amount)
    RETURNING paid_at INTO v_paid_at;
    UPDATE reservations res SET status = 'CONFIRMED', payment_id = p_payment
      FROM unnest(p_ids) AS paid (id)
     WHERE res.id = paid.id AND res.status = 'HELD';
    GET DIAGNOSTICS v_changed = ROW_COUNT;
    IF v_changed <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'hold lost' USING ERRCODE = 'TB409';
    END IF;

    -- 7. Debit (the CHECK keeps it >= 0), history row, saved response.
    UPDATE users SET balance = balance - v_amount, updated_at = now()
     WHERE id = p_user
    RETURNING balance INTO v_balance;
    INSERT INTO point_history (user_id, kind, amount, balance_after, reference)
    VALUES (p_user, 'USE', v_amount, v_balance, 'payment:' || p_payment::TEXT);
    v_body := jsonb_build_object(
        'payment_id', p_payment,
        'reservation_ids', to_jsonb(p_ids),
        'amount', v_amount,
        'balance', v_balance,
        'paid_at', to_char(v_paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    INSERT INTO idempotency (user_id, scope, key, request_hash, status, body)
    VALUES (p_user, 'payment', p_key, p_hash, 201, v_body);

    RETURN QUERY SELECT false, 201::SMALLINT, v_body, v_schedules, v_seats, v_amount;
END;
$$;
