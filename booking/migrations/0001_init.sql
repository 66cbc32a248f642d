-- Booking schema. The database enforces the invariants, not only the Rust code:
--   * a seat row has at most one reservation at a time (seats.reservation_id), and at most
--     one CONFIRMED reservation ever (partial unique index) -> no seat is sold twice;
--   * balances are CHECKed non-negative and bounded -> never negative, never overflow;
--   * a confirmed reservation always points at its payment.
-- Lock order used by every multi-row transaction: users -> seats -> reservations.

CREATE TABLE users (
    id          BIGINT PRIMARY KEY CHECK (id > 0),
    balance     BIGINT NOT NULL DEFAULT 0
                CONSTRAINT balance_non_negative CHECK (balance >= 0)
                CONSTRAINT balance_max CHECK (balance <= 1000000000000000),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE concerts (
    id          BIGSERIAL PRIMARY KEY,
    title       TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE schedules (
    id          BIGSERIAL PRIMARY KEY,
    concert_id  BIGINT NOT NULL REFERENCES concerts (id),
    starts_at   TIMESTAMPTZ NOT NULL,
    total_seats INT NOT NULL CHECK (total_seats BETWEEN 1 AND 10000),
    bookable    BOOLEAN NOT NULL DEFAULT true
);
CREATE INDEX schedules_concert ON schedules (concert_id, starts_at);

CREATE TABLE seats (
    schedule_id    BIGINT NOT NULL REFERENCES schedules (id),
    seat_no        INT NOT NULL CHECK (seat_no >= 1),
    price          BIGINT NOT NULL CHECK (price >= 1),
    status         TEXT NOT NULL DEFAULT 'AVAILABLE'
                   CHECK (status IN ('AVAILABLE', 'HELD', 'SOLD')),
    reservation_id UUID,
    held_until     TIMESTAMPTZ,
    PRIMARY KEY (schedule_id, seat_no),
    CONSTRAINT seat_owner_matches_status CHECK ((status = 'AVAILABLE') = (reservation_id IS NULL)),
    CONSTRAINT seat_hold_has_deadline CHECK ((status = 'HELD') = (held_until IS NOT NULL))
);
-- A seat is referenced by at most one reservation at a time.
CREATE UNIQUE INDEX seats_one_reservation ON seats (reservation_id) WHERE reservation_id IS NOT NULL;

CREATE TABLE payments (
    id          UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    concert_id  BIGINT NOT NULL REFERENCES concerts (id),
    amount      BIGINT NOT NULL CHECK (amount >= 1),
    paid_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payments_user ON payments (user_id);

CREATE TABLE reservations (
    id          UUID PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    concert_id  BIGINT NOT NULL REFERENCES concerts (id),
    schedule_id BIGINT NOT NULL,
    seat_no     INT NOT NULL,
    price       BIGINT NOT NULL CHECK (price >= 1),
    status      TEXT NOT NULL CHECK (status IN ('HELD', 'CONFIRMED', 'EXPIRED', 'RELEASED')),
    held_until  TIMESTAMPTZ NOT NULL,
    payment_id  UUID REFERENCES payments (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (schedule_id, seat_no) REFERENCES seats (schedule_id, seat_no),
    CONSTRAINT confirmed_has_payment CHECK ((status = 'CONFIRMED') = (payment_id IS NOT NULL))
);
-- The last word against a double sale: one confirmed reservation per seat, ever.
CREATE UNIQUE INDEX reservations_one_confirmed_per_seat
    ON reservations (schedule_id, seat_no) WHERE status = 'CONFIRMED';
CREATE INDEX reservations_user_held ON reservations (user_id) WHERE status = 'HELD';
CREATE INDEX reservations_held_until ON reservations (held_until) WHERE status = 'HELD';
CREATE INDEX reservations_payment ON reservations (payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE point_history (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    kind          TEXT NOT NULL CHECK (kind IN ('CHARGE', 'USE', 'REFUND')),
    amount        BIGINT NOT NULL CHECK (amount >= 1),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    reference     TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX point_history_user ON point_history (user_id, id DESC);

-- Saved responses of idempotent requests (payments, charges), written in the same
-- transaction as the effect they describe.
CREATE TABLE idempotency (
    user_id      BIGINT NOT NULL,
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       SMALLINT NOT NULL,
    body         JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, scope, key)
);
