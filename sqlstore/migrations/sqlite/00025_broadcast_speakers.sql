-- +goose Up
-- Loudspeakers that were off their zone's stream for a whole slot: one
-- open trouble per speaker, cleared when it listens again.
CREATE TABLE broadcast_speaker_troubles (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    speaker_id    INTEGER NOT NULL,
    zone_id       INTEGER NOT NULL,
    slot_id       INTEGER,
    raised_at     TIMESTAMP NOT NULL,
    cleared_at    TIMESTAMP
);
CREATE INDEX broadcast_speaker_troubles_speaker ON broadcast_speaker_troubles (speaker_id, cleared_at);

-- +goose Down
DROP TABLE broadcast_speaker_troubles;
