-- The opening draw's secret seed, drawn once when an opening is first scheduled for the
-- room and kept for good: every gateway, and a gateway restarted, draws the same order
-- with it, and its SHA-256 (published before the opening) commits to it.
ALTER TABLE rooms ADD COLUMN seed BYTEA CHECK (octet_length(seed) = 32);
