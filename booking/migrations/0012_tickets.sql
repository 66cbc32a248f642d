-- Tickets: a paid seat is a ticket (its reservation, CONFIRMED). It can be checked in at
-- the door once, cancelled by its buyer until the schedule's cancel_until (for a fee), or
-- cancelled with its show (refunded in full). A cancelled ticket's reservation is
-- CANCELLED (it keeps its payment) and its seat is AVAILABLE again.

ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('HELD', 'CONFIRMED', 'EXPIRED', 'RELEASED', 'CANCELLED'));
ALTER TABLE reservations DROP CONSTRAINT confirmed_has_payment;
ALTER TABLE reservations ADD CONSTRAINT confirmed_has_payment
    CHECK ((status IN ('CONFIRMED', 'CANCELLED')) = (payment_id IS NOT NULL));

ALTER TABLE reservations
    ADD COLUMN checked_in_at TIMESTAMPTZ,
    ADD COLUMN cancelled_at  TIMESTAMPTZ,
    ADD COLUMN cancelled_by  TEXT CHECK (cancelled_by IN ('buyer', 'show')),
    ADD COLUMN refund        BIGINT CHECK (refund >= 0),
    ADD COLUMN fee           BIGINT CHECK (fee >= 0);
ALTER TABLE reservations ADD CONSTRAINT cancelled_is_refunded
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL
                                     AND refund IS NOT NULL AND fee IS NOT NULL));
-- Only a ticket is checked in.
ALTER TABLE reservations ADD CONSTRAINT checked_in_is_a_ticket
    CHECK (checked_in_at IS NULL OR status IN ('CONFIRMED', 'CANCELLED'));

-- A buyer's tickets, newest first; a show's tickets still to refund.
CREATE INDEX reservations_tickets ON reservations (user_id, id DESC)
    WHERE status IN ('CONFIRMED', 'CANCELLED');
CREATE INDEX reservations_schedule_tickets ON reservations (schedule_id)
    WHERE status = 'CONFIRMED';

-- Until when buyers may cancel; when (if) the operator cancelled the show, and when its
-- refunds were all made.
ALTER TABLE schedules
    ADD COLUMN cancel_until TIMESTAMPTZ,
    ADD COLUMN cancelled_at TIMESTAMPTZ,
    ADD COLUMN refunds_done_at TIMESTAMPTZ;
UPDATE schedules SET cancel_until = starts_at - interval '24 hours';
ALTER TABLE schedules ALTER COLUMN cancel_until SET NOT NULL;
CREATE INDEX schedules_refunding ON schedules (id)
    WHERE cancelled_at IS NOT NULL AND refunds_done_at IS NULL;
