-- +goose Up
-- The associations' ledgers (台账): types whose fields are data, entries
-- about residents, the history of every change, residents' consent to
-- sharing, grants that share part of a ledger with a partner, follow-ups,
-- job openings, and the problems residents bring to an association.
CREATE TABLE ledger_types (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL DEFAULT '',
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    sensitive       BOOLEAN NOT NULL DEFAULT FALSE,
    fields          TEXT NOT NULL DEFAULT '[]',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (community_id, key)
);

CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    type_id         INTEGER NOT NULL REFERENCES ledger_types(id),
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    status          TEXT NOT NULL DEFAULT 'active',
    data            TEXT NOT NULL DEFAULT '{}',
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (type_id, person_id)
);
CREATE INDEX ledger_entries_type ON ledger_entries (type_id, id);
CREATE INDEX ledger_entries_person ON ledger_entries (person_id);

-- One row per value, in canonical text, so that filters (a grant's, a
-- list's) are plain SQL on both dialects.
CREATE TABLE ledger_values (
    entry_id  INTEGER NOT NULL REFERENCES ledger_entries(id) ON DELETE CASCADE,
    field     TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (entry_id, field)
);
CREATE INDEX ledger_values_field ON ledger_values (field, value);

CREATE TABLE ledger_history (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER NOT NULL REFERENCES ledger_entries(id) ON DELETE CASCADE,
    at        TIMESTAMP NOT NULL,
    user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username  TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    before    TEXT NOT NULL DEFAULT '',
    after     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_history_entry ON ledger_history (entry_id, id);

CREATE TABLE ledger_consents (
    entry_id     INTEGER NOT NULL REFERENCES ledger_entries(id) ON DELETE CASCADE,
    partner_id   INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    given        BOOLEAN NOT NULL,
    method       TEXT NOT NULL,
    recorded_by  TEXT NOT NULL DEFAULT '',
    user_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    at           TIMESTAMP NOT NULL,
    PRIMARY KEY (entry_id, partner_id)
);

CREATE TABLE ledger_grants (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    partner_id    INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    type_id       INTEGER NOT NULL REFERENCES ledger_types(id),
    fields        TEXT NOT NULL,
    filter_json   TEXT NOT NULL DEFAULT '{}',
    purpose       TEXT NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    revoked_by    INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX ledger_grants_partner ON ledger_grants (partner_id, type_id);

CREATE TABLE job_openings (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    partner_id    INTEGER NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    skills        TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT '',
    salary        TEXT NOT NULL DEFAULT '',
    positions     INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL DEFAULT 'open',
    closes_at     TIMESTAMP,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX job_openings_community ON job_openings (community_id, status);

CREATE TABLE ledger_followups (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES ledger_entries(id) ON DELETE CASCADE,
    partner_id      INTEGER REFERENCES partners(id) ON DELETE SET NULL,
    association_id  INTEGER REFERENCES associations(id) ON DELETE SET NULL,
    opening_id      INTEGER REFERENCES job_openings(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    at              TIMESTAMP NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX ledger_followups_entry ON ledger_followups (entry_id, id);
CREATE INDEX ledger_followups_kind ON ledger_followups (kind, at);
CREATE INDEX ledger_followups_opening ON ledger_followups (opening_id);

CREATE TABLE assoc_intakes (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    person_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    household_id    INTEGER REFERENCES households(id) ON DELETE SET NULL,
    description     TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    submitted_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX assoc_intakes_association ON assoc_intakes (association_id, status);

-- +goose Down
DROP TABLE assoc_intakes;
DROP TABLE ledger_followups;
DROP TABLE job_openings;
DROP TABLE ledger_grants;
DROP TABLE ledger_consents;
DROP TABLE ledger_history;
DROP TABLE ledger_values;
DROP TABLE ledger_entries;
DROP TABLE ledger_types;
