-- +goose Up
-- Cameras beyond the device registry: where the operator watches, where a
-- snapshot comes from, where the footage is recorded (the password sealed
-- with the personal-data key) and which entrances, roads and areas each
-- camera sees.
CREATE TABLE cameras (
    device_id        INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    live_url         TEXT NOT NULL DEFAULT '',
    snapshot_url     TEXT NOT NULL DEFAULT '',
    onvif_url        TEXT NOT NULL DEFAULT '',
    username         TEXT NOT NULL DEFAULT '',
    password_sealed  TEXT NOT NULL DEFAULT '',
    recorder_kind    TEXT NOT NULL DEFAULT '',
    recorder_url     TEXT NOT NULL DEFAULT '',
    channel          TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMP NOT NULL
);
CREATE TABLE camera_coverage (
    id           INTEGER PRIMARY KEY,
    device_id    INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    building_id  INTEGER REFERENCES buildings(id),
    kind         TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX camera_coverage_device ON camera_coverage (device_id);
CREATE INDEX camera_coverage_building ON camera_coverage (building_id, kind);

-- The snapshot each covering camera gave when an incident opened (or why
-- none); the cameras themselves are found from the coverage.
CREATE TABLE incident_snapshots (
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    device_id    INTEGER NOT NULL,
    media_id     INTEGER REFERENCES media(id),
    error        TEXT NOT NULL DEFAULT '',
    at           TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, device_id)
);

-- Footage requested by the police or staff, decided by the director.
CREATE TABLE footage_requests (
    id               INTEGER PRIMARY KEY,
    community_id     INTEGER NOT NULL REFERENCES communities(id),
    requested_by     INTEGER NOT NULL REFERENCES users(id),
    reason           TEXT NOT NULL,
    case_number      TEXT NOT NULL,
    from_at          TIMESTAMP NOT NULL,
    until_at         TIMESTAMP NOT NULL,
    status           TEXT NOT NULL,
    decided_by       INTEGER REFERENCES users(id),
    decided_at       TIMESTAMP,
    decision_reason  TEXT NOT NULL DEFAULT '',
    exported_at      TIMESTAMP,
    export_error     TEXT NOT NULL DEFAULT '',
    export_attempts  INTEGER NOT NULL DEFAULT 0,
    legal_hold       BOOLEAN NOT NULL DEFAULT FALSE,
    released_at      TIMESTAMP,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX footage_requests_community ON footage_requests (community_id, status, created_at);
CREATE TABLE footage_request_cameras (
    request_id  INTEGER NOT NULL REFERENCES footage_requests(id),
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    PRIMARY KEY (request_id, device_id)
);
CREATE TABLE footage_exports (
    request_id  INTEGER NOT NULL REFERENCES footage_requests(id),
    device_id   INTEGER NOT NULL,
    media_id    INTEGER NOT NULL REFERENCES media(id),
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    from_at     TIMESTAMP NOT NULL,
    until_at    TIMESTAMP NOT NULL,
    adapter     TEXT NOT NULL,
    PRIMARY KEY (request_id, device_id)
);
-- The custody log: appended only, each entry carrying the hash of the one
-- before (see package evidence). No foreign keys: it outlives accounts.
CREATE TABLE custody_log (
    request_id  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    action      TEXT NOT NULL,
    actor_id    INTEGER,
    actor       TEXT NOT NULL,
    from_addr   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- Warning notices with a captured face: requested, decided by the
-- director, published until they expire.
CREATE TABLE warnings (
    id               INTEGER PRIMARY KEY,
    community_id     INTEGER NOT NULL REFERENCES communities(id),
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    case_number      TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    requested_by     INTEGER NOT NULL REFERENCES users(id),
    requested_at     TIMESTAMP NOT NULL,
    decided_by       INTEGER REFERENCES users(id),
    decided_at       TIMESTAMP,
    decision_reason  TEXT NOT NULL DEFAULT '',
    published_at     TIMESTAMP,
    expires_at       TIMESTAMP NOT NULL,
    taken_down_at    TIMESTAMP
);
CREATE INDEX warnings_community ON warnings (community_id, status, expires_at);

-- +goose Down
DROP TABLE warnings;
DROP TABLE custody_log;
DROP TABLE footage_exports;
DROP TABLE footage_request_cameras;
DROP TABLE footage_requests;
DROP TABLE incident_snapshots;
DROP TABLE camera_coverage;
DROP TABLE cameras;
