-- +goose Up
-- A notice ticked "also read on the loudspeakers", and where it is read:
-- the slot's airing it was put into, on which zones, and when it aired
-- (it is read once, then leaves the rundown).
ALTER TABLE notices ADD COLUMN broadcast BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE broadcast_notice_airings (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    notice_id     INTEGER NOT NULL,
    slot_id       INTEGER NOT NULL,
    zone_ids      TEXT NOT NULL DEFAULT '[]',
    airs_at       TIMESTAMP NOT NULL,
    aired_at      TIMESTAMP,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX broadcast_notice_airings_slot ON broadcast_notice_airings (slot_id, aired_at);
CREATE INDEX broadcast_notice_airings_notice ON broadcast_notice_airings (notice_id);

-- +goose Down
DROP TABLE broadcast_notice_airings;
ALTER TABLE notices DROP COLUMN broadcast;
