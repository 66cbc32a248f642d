-- The durable copy of each waiting room's settings. The gateways keep a room's live state
-- in Redis; its settings are written here first (operator changes), so a Redis restart
-- never reopens a closed room or forgets a throttle. `settings` is the JSON of the shared
-- contract's RoomSettings; `version` counts the changes (the gateways never write older
-- settings over newer ones).
CREATE TABLE rooms (
    concert_id BIGINT PRIMARY KEY REFERENCES concerts (id),
    settings   JSONB NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 0),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
