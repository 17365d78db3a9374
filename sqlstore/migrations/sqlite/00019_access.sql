-- +goose Up
-- Access control: the community's signing key for passes and phone keys,
-- the doors (each a door_controller in the device registry), credentials,
-- passes, the revocation list pushed to controllers and the access log.
CREATE TABLE access_keys (
    community_id    INTEGER PRIMARY KEY REFERENCES communities(id),
    public_key      TEXT NOT NULL,
    private_sealed  TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE access_doors (
    device_id          INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    community_id       INTEGER NOT NULL REFERENCES communities(id),
    building_id        INTEGER REFERENCES buildings(id),
    entrance           TEXT NOT NULL DEFAULT '',
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    fire_release       BOOLEAN NOT NULL DEFAULT FALSE,
    held_open_seconds  INTEGER NOT NULL DEFAULT 60,
    state              TEXT NOT NULL DEFAULT 'unknown',
    state_at           TIMESTAMP,
    incident_id        INTEGER REFERENCES incidents(id),
    created_at         TIMESTAMP NOT NULL
);
CREATE INDEX access_doors_community ON access_doors (community_id, building_id);

CREATE TABLE access_credentials (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    person_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    household_id    INTEGER REFERENCES households(id) ON DELETE SET NULL,
    user_id         INTEGER REFERENCES users(id),
    kind            TEXT NOT NULL,
    role            TEXT NOT NULL,
    label           TEXT NOT NULL DEFAULT '',
    value_idx       TEXT NOT NULL DEFAULT '',
    value_enc       TEXT NOT NULL DEFAULT '',
    hint            TEXT NOT NULL DEFAULT '',
    fingerprint     TEXT NOT NULL DEFAULT '',
    serial          BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    revoked_at      TIMESTAMP,
    revoked_reason  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX access_credentials_value ON access_credentials (value_idx) WHERE revoked_at IS NULL AND value_idx <> '';
CREATE INDEX access_credentials_serial ON access_credentials (serial) WHERE serial <> 0;
CREATE INDEX access_credentials_person ON access_credentials (person_id);
CREATE INDEX access_credentials_household ON access_credentials (household_id);

CREATE TABLE access_passes (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    household_id  INTEGER REFERENCES households(id) ON DELETE SET NULL,
    person_id     INTEGER REFERENCES people(id) ON DELETE SET NULL,
    kind          TEXT NOT NULL,
    serial        BIGINT NOT NULL UNIQUE,
    visitor_name  TEXT NOT NULL DEFAULT '',
    door_ids      TEXT NOT NULL,
    valid_from    TIMESTAMP NOT NULL,
    valid_until   TIMESTAMP NOT NULL,
    uses          INTEGER NOT NULL,
    used          INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX access_passes_household ON access_passes (household_id, created_at);

-- What controllers must refuse even offline: token serials and card
-- fingerprints. The largest id is the list's version. A row is dropped
-- once what it revokes could not open a door anyway (expires_at passed).
CREATE TABLE access_revocations (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    serial        BIGINT NOT NULL DEFAULT 0,
    card          TEXT NOT NULL DEFAULT '',
    revoked_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP
);
CREATE INDEX access_revocations_community ON access_revocations (community_id, id);

CREATE TABLE access_log (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    door_id        INTEGER NOT NULL,
    at             TIMESTAMP NOT NULL,
    event          TEXT NOT NULL,
    kind           TEXT NOT NULL DEFAULT '',
    granted        BOOLEAN NOT NULL DEFAULT FALSE,
    reason         TEXT NOT NULL DEFAULT '',
    person_id      INTEGER,
    household_id   INTEGER,
    credential_id  INTEGER,
    pass_id        INTEGER,
    visitor_name   TEXT NOT NULL DEFAULT '',
    offline        BOOLEAN NOT NULL DEFAULT FALSE,
    source         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_log_at ON access_log (community_id, at);
CREATE INDEX access_log_door ON access_log (door_id, at);
CREATE INDEX access_log_person ON access_log (person_id, at);
CREATE INDEX access_log_household ON access_log (household_id, at);

-- +goose Down
DROP TABLE access_log;
DROP TABLE access_revocations;
DROP TABLE access_passes;
DROP TABLE access_credentials;
DROP TABLE access_doors;
DROP TABLE access_keys;
