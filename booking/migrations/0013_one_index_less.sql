-- A show's tickets still to refund are found through reservations_one_confirmed_per_seat
-- (schedule_id, seat_no) WHERE status = 'CONFIRMED', which every payment already writes:
-- the index 0012 added for them cost every paid seat one more index entry for nothing.
DROP INDEX reservations_schedule_tickets;
