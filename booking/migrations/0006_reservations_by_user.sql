-- A buyer's holds and purchases, newest first (`GET /v1/users/{id}/reservations`): one
-- index range per page whatever the table's size. Reservation ids are UUIDv7, so id order
-- is creation order.
CREATE INDEX reservations_user ON reservations (user_id, id DESC);
