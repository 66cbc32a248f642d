-- The opening draw's secret seed, drawn once when an opening is first scheduled for the
-- room and kept for good: every gateway, and a gateway restarted, draws the same order
-- with it, and its SHA-256 (published before the opening) commits to it.
ALTER TABLE rooms ADD COLUMN seed BYTEA CHECK (octet_length(seed) = 32);

-- The digest of the configuration-file section last applied to the room (a gateway
-- applies `[rooms."<id>"]` at start and on reload): the same section applied again by
-- another gateway, or after a restart, changes nothing, so a later operator change made
-- through the admin API stays until the file itself changes — the latest change wins.
ALTER TABLE rooms ADD COLUMN config_digest TEXT;
