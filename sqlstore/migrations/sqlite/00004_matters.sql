-- +goose Up
CREATE TABLE matter_categories (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_en       TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    grp           TEXT NOT NULL DEFAULT '',
    sla_hours     INTEGER NOT NULL,
    attributes    TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, code)
);

CREATE TABLE matters (
    id                       INTEGER PRIMARY KEY,
    community_id             INTEGER NOT NULL REFERENCES communities(id),
    tracking                 TEXT NOT NULL UNIQUE,
    category_id              INTEGER NOT NULL REFERENCES matter_categories(id),
    person_id                INTEGER REFERENCES people(id) ON DELETE SET NULL,
    household_id             INTEGER REFERENCES households(id) ON DELETE SET NULL,
    home_id                  INTEGER REFERENCES homes(id),
    grid_id                  INTEGER REFERENCES grids(id),
    description              TEXT NOT NULL,
    address                  TEXT NOT NULL DEFAULT '',
    lat                      REAL NOT NULL DEFAULT 0,
    lng                      REAL NOT NULL DEFAULT 0,
    attributes               TEXT NOT NULL DEFAULT '{}',
    status                   TEXT NOT NULL,
    status_note              TEXT NOT NULL DEFAULT '',
    assignee_user_id         INTEGER REFERENCES users(id),
    assignee_association_id  INTEGER REFERENCES associations(id),
    submitted_by             INTEGER REFERENCES users(id),
    filed_by                 INTEGER REFERENCES users(id),
    channel                  TEXT NOT NULL,
    rating                   INTEGER NOT NULL DEFAULT 0,
    rating_comment           TEXT NOT NULL DEFAULT '',
    due_at                   TIMESTAMP NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    resolved_at              TIMESTAMP
);
CREATE INDEX matters_queue ON matters (community_id, status, due_at);
CREATE INDEX matters_household ON matters (household_id, created_at);
CREATE INDEX matters_created ON matters (community_id, created_at);

CREATE TABLE matter_log (
    id           INTEGER PRIMARY KEY,
    matter_id    INTEGER NOT NULL REFERENCES matters(id),
    at           TIMESTAMP NOT NULL,
    action       TEXT NOT NULL,
    user_id      INTEGER,
    from_status  TEXT NOT NULL DEFAULT '',
    to_status    TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX matter_log_matter ON matter_log (matter_id, id);

-- Photos of anything residents post (matters, lost and found), kept in the
-- database so a backup of it is a backup of everything.
CREATE TABLE photos (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    owner_id      INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    data          BLOB NOT NULL,
    uploaded_by   INTEGER,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX photos_owner ON photos (owner, owner_id);

-- +goose Down
DROP TABLE photos;
DROP TABLE matter_log;
DROP TABLE matters;
DROP TABLE matter_categories;
