-- +goose Up
-- The loudspeakers: zones of speakers (devices of kind speaker), the
-- programme of slots and their rundowns, the audio library (bytes in the
-- media store), rendered slots cached by the hash of what they say, the
-- as-run log and emergency announcements. Lists of ids, days and items
-- are JSON: they are read and written whole with their row.
CREATE TABLE broadcast_zones (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    speaker_ids   TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, code)
);

CREATE TABLE broadcast_slots (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL DEFAULT '',
    zone_ids      TEXT NOT NULL,
    days          TEXT NOT NULL,
    start_hm      TEXT NOT NULL,
    minutes       INTEGER NOT NULL,
    date_from     TEXT NOT NULL DEFAULT '',
    date_until    TEXT NOT NULL DEFAULT '',
    exceptions    TEXT NOT NULL DEFAULT '[]',
    items         TEXT NOT NULL DEFAULT '[]',
    items_at      TIMESTAMP,
    flag          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX broadcast_slots_community ON broadcast_slots (community_id);

CREATE TABLE broadcast_tracks (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    media_id      INTEGER,
    title         TEXT NOT NULL,
    artist        TEXT NOT NULL DEFAULT '',
    seconds       REAL NOT NULL DEFAULT 0,
    lufs          REAL NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX broadcast_tracks_community ON broadcast_tracks (community_id);

CREATE TABLE broadcast_renders (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    hash          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    seconds       REAL NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, hash)
);

CREATE TABLE broadcast_emergencies (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    zone_ids      TEXT NOT NULL,
    text          TEXT NOT NULL,
    level         TEXT NOT NULL,
    warning_level TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    repeats       INTEGER NOT NULL,
    created_by    INTEGER,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE broadcast_asrun (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    zone_id       INTEGER NOT NULL,
    slot_id       INTEGER,
    emergency_id  INTEGER,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    seconds       REAL NOT NULL DEFAULT 0,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX broadcast_asrun_zone ON broadcast_asrun (community_id, zone_id, started_at);

-- Song requests from residents, approved into a slot's rundown.
CREATE TABLE broadcast_dedications (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    requested_by  INTEGER,
    track_id      INTEGER,
    song          TEXT NOT NULL DEFAULT '',
    for_whom      TEXT NOT NULL,
    message       TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    slot_id       INTEGER,
    note          TEXT NOT NULL DEFAULT '',
    decided_by    INTEGER,
    decided_at    TIMESTAMP,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX broadcast_dedications_community ON broadcast_dedications (community_id, status);

-- +goose Down
DROP TABLE broadcast_dedications;
DROP TABLE broadcast_asrun;
DROP TABLE broadcast_emergencies;
DROP TABLE broadcast_renders;
DROP TABLE broadcast_tracks;
DROP TABLE broadcast_slots;
DROP TABLE broadcast_zones;
