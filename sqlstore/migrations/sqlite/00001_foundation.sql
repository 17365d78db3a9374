-- +goose Up
CREATE TABLE communities (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    timezone    TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    phone       TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL DEFAULT '',
    person_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    last_failed_at  TIMESTAMP,
    locked_until    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE grids (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    polygon         TEXT NOT NULL DEFAULT '',
    worker_user_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (community_id, code)
);

CREATE TABLE buildings (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    grid_id       INTEGER NOT NULL REFERENCES grids(id),
    name          TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    lat           REAL NOT NULL DEFAULT 0,
    lng           REAL NOT NULL DEFAULT 0,
    floors        INTEGER NOT NULL DEFAULT 0,
    head_user_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, name)
);
CREATE INDEX buildings_grid ON buildings (grid_id);

CREATE TABLE homes (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    building_id   INTEGER NOT NULL REFERENCES buildings(id),
    entrance      TEXT NOT NULL DEFAULT '',
    floor         INTEGER NOT NULL,
    door          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (building_id, door)
);
CREATE INDEX homes_community ON homes (community_id, building_id, floor, door);

CREATE TABLE households (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    home_id       INTEGER NOT NULL REFERENCES homes(id),
    name          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX households_home ON households (home_id);

CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    household_id   INTEGER REFERENCES households(id),
    name           TEXT NOT NULL,
    gender         TEXT NOT NULL DEFAULT '',
    phone_enc      TEXT NOT NULL DEFAULT '',
    phone_idx      TEXT NOT NULL DEFAULT '',
    id_number_enc  TEXT NOT NULL DEFAULT '',
    id_number_idx  TEXT NOT NULL DEFAULT '',
    birth_date     TEXT NOT NULL DEFAULT '',
    relation       TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX people_community ON people (community_id, id);
CREATE INDEX people_household ON people (household_id);
CREATE UNIQUE INDEX people_id_number ON people (community_id, id_number_idx) WHERE id_number_idx <> '';
CREATE INDEX people_phone ON people (phone_idx) WHERE phone_idx <> '';

CREATE TABLE emergency_contacts (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    phone_enc  TEXT NOT NULL,
    relation   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX emergency_contacts_person ON emergency_contacts (person_id);

CREATE TABLE associations (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    key            TEXT NOT NULL,
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL DEFAULT '',
    chair_user_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (community_id, key)
);

CREATE TABLE association_members (
    id              INTEGER PRIMARY KEY,
    association_id  INTEGER NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
    person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    role            TEXT NOT NULL
);
CREATE INDEX association_members_assoc ON association_members (association_id);

CREATE TABLE partners (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, name)
);

CREATE TABLE grants (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    community_id    INTEGER REFERENCES communities(id) ON DELETE CASCADE,
    grid_id         INTEGER REFERENCES grids(id) ON DELETE CASCADE,
    association_id  INTEGER REFERENCES associations(id) ON DELETE CASCADE,
    partner_id      INTEGER REFERENCES partners(id) ON DELETE CASCADE
);
CREATE INDEX grants_user ON grants (user_id);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    csrf_token    TEXT NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    serial        TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT '',
    lat           REAL NOT NULL DEFAULT 0,
    lng           REAL NOT NULL DEFAULT 0,
    grid_id       INTEGER REFERENCES grids(id),
    building_id   INTEGER REFERENCES buildings(id),
    home_id       INTEGER REFERENCES homes(id),
    status        TEXT NOT NULL DEFAULT 'unknown',
    last_seen_at  TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, name)
);
CREATE INDEX devices_kind ON devices (community_id, kind);

-- The audit log keeps no foreign keys: it must outlive what it describes.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            TIMESTAMP NOT NULL,
    community_id  INTEGER,
    user_id       INTEGER,
    username      TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    entity        TEXT NOT NULL DEFAULT '',
    entity_id     INTEGER,
    before        TEXT NOT NULL DEFAULT '',
    after         TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_community ON audit_log (community_id, at);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE devices;
DROP TABLE sessions;
DROP TABLE grants;
DROP TABLE partners;
DROP TABLE association_members;
DROP TABLE associations;
DROP TABLE emergency_contacts;
DROP TABLE people;
DROP TABLE households;
DROP TABLE homes;
DROP TABLE buildings;
DROP TABLE grids;
DROP TABLE users;
DROP TABLE communities;
