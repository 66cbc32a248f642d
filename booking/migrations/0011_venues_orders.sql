-- Venues with sections, rows and price grades; schedules on a venue (up to 100,000 seats);
-- orders of several seats; a ticket limit per buyer per concert.

-- 1. Venues: the layout as created (sections -> rows -> seats), and its seat count.
CREATE TABLE venues (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 40),
    seats       INT NOT NULL CHECK (seats BETWEEN 1 AND 100000),
    layout      JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE schedules DROP CONSTRAINT schedules_total_seats_check;
ALTER TABLE schedules ADD CONSTRAINT schedules_total_seats_check
    CHECK (total_seats BETWEEN 1 AND 100000);
ALTER TABLE schedules ADD COLUMN venue_id BIGINT REFERENCES venues (id);

-- 2. A concert's ticket limit: seats held plus seats bought by one buyer, at most this.
ALTER TABLE concerts ADD COLUMN max_tickets_per_user INT NOT NULL DEFAULT 4
    CHECK (max_tickets_per_user BETWEEN 1 AND 100);

-- 3. Every seat has a place: section, row, number in the row, and a grade. The seats that
--    exist already are the one-price form's: section GA, grade GENERAL, rows of 50.
ALTER TABLE seats ADD COLUMN section TEXT, ADD COLUMN row_label TEXT,
                  ADD COLUMN number INT, ADD COLUMN grade TEXT;
UPDATE seats SET section = 'GA', grade = 'GENERAL',
                 row_label = ((seat_no - 1) / 50 + 1)::TEXT, number = (seat_no - 1) % 50 + 1;
ALTER TABLE seats ALTER COLUMN section SET NOT NULL, ALTER COLUMN row_label SET NOT NULL,
                  ALTER COLUMN number SET NOT NULL, ALTER COLUMN grade SET NOT NULL;
-- Best available reads the available seats of a schedule in seat order; this index holds
-- only them, so a pick costs what is left to sell, not what was sold.
CREATE INDEX seats_available ON seats (schedule_id, seat_no) WHERE status = 'AVAILABLE';

-- 4. Orders: the seats one hold request took share an order id (a one-seat hold's order id
--    is its reservation id) and one deadline.
ALTER TABLE reservations ADD COLUMN order_id UUID;
UPDATE reservations SET order_id = id;
ALTER TABLE reservations ALTER COLUMN order_id SET NOT NULL;
CREATE INDEX reservations_order ON reservations (order_id);
-- The ticket limit counts a buyer's live holds and purchases of one concert.
CREATE INDEX reservations_user_concert ON reservations (user_id, concert_id)
    WHERE status IN ('HELD', 'CONFIRMED');

-- 5. Payments refuse part of an order (booking/sql/functions/pay_reservations.sql).
CREATE OR REPLACE FUNCTION public.pay_reservations(p_user bigint, p_concert bigint, p_ids uuid[], p_key text, p_hash text, p_payment uuid)
 RETURNS TABLE(o_replayed boolean, o_status smallint, o_body jsonb, o_schedule_ids bigint[], o_seat_nos integer[], o_amount bigint)
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
    v_balance BIGINT;
    v_amount BIGINT := 0;
    v_found INT := 0;
    v_paid_at TIMESTAMPTZ;
    v_body JSONB;
    v_err TEXT;
    v_detail TEXT := '';
    v_ids UUID[] := '{}';
    v_schedules BIGINT[] := '{}';
    v_seats INT[] := '{}';
    v_orders UUID[] := '{}';
    v_left UUID;
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
               res.status, res.held_until > now() AS live, res.order_id
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
        v_ids := v_ids || r.id;
        v_schedules := v_schedules || r.schedule_id;
        v_seats := v_seats || r.seat_no;
        IF r.order_id <> r.id AND NOT r.order_id = ANY (v_orders) THEN
            v_orders := v_orders || r.order_id;
        END IF;
    END LOOP;
    IF v_found <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'TB404';
    END IF;
    IF v_err IS NOT NULL THEN
        RAISE EXCEPTION 'payment refused' USING ERRCODE = v_err, DETAIL = v_detail;
    END IF;
    --    An order's seats are paid together: none of its held seats may be left out.
    --    (A one-seat order's id is its reservation's, so it has nothing to look up.)
    IF cardinality(v_orders) > 0 THEN
        SELECT res.order_id INTO v_left
          FROM reservations res
         WHERE res.order_id = ANY (v_orders) AND NOT res.id = ANY (p_ids)
           AND res.status = 'HELD'
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'part of an order' USING ERRCODE = 'TB4PO', DETAIL = v_left::TEXT;
        END IF;
    END IF;

    -- 4. The balance must cover the total.
    IF v_balance < v_amount THEN
        RAISE EXCEPTION 'insufficient balance'
            USING ERRCODE = 'TB402', DETAIL = v_balance::TEXT || ' ' || v_amount::TEXT;
    END IF;

    -- 5. Seats HELD by these reservations -> SOLD, every one or the hold was lost. One
    --    primary-key update per seat: the plan is a key lookup whatever the statistics.
    FOR i IN 1 .. v_found LOOP
        UPDATE seats SET status = 'SOLD', held_until = NULL
         WHERE schedule_id = v_schedules[i] AND seat_no = v_seats[i]
           AND reservation_id = v_ids[i] AND status = 'HELD' AND held_until > now();
        IF NOT FOUND THEN
            RAISE EXCEPTION 'hold lost' USING ERRCODE = 'TB409';
        END IF;
    END LOOP;

    -- 6. Payment row, reservations -> CONFIRMED (one primary-key update each).
    INSERT INTO payments (id, user_id, concert_id, amount)
    VALUES (p_payment, p_user, p_concert, v_amount)
    RETURNING paid_at INTO v_paid_at;
    FOR i IN 1 .. v_found LOOP
        UPDATE reservations SET status = 'CONFIRMED', payment_id = p_payment
         WHERE id = v_ids[i] AND status = 'HELD';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'hold lost' USING ERRCODE = 'TB409';
        END IF;
    END LOOP;

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
$function$

;
