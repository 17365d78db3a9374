-- +goose Up
-- Key rotation: each row holding sealed personal data records the key that
-- sealed it ('' for rows written before this migration or by code that
-- does not say, which a rotation reseals as well), so a rotation resumes
-- where it stopped and a key is retired only when no row needs it.
ALTER TABLE people ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE emergency_contacts ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE alarm_panels ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE open311_requests ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';

-- Backups taken by the server (shequ serve --backup-every) or by the
-- command: the admin's page and /metrics show the last one, and a failed
-- one raises a trouble on the console.
CREATE TABLE backup_runs (
    id           INTEGER PRIMARY KEY,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    ok           BOOLEAN NOT NULL DEFAULT FALSE,
    name         TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL DEFAULT '',
    parts        INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    node         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);

-- Retention: the period the administrator chose per kind of data (the
-- defaults are in package retention), and legal holds that keep data past
-- its period: a matter in dispute, an incident, footage for a case.
CREATE TABLE retention_settings (
    kind        TEXT PRIMARY KEY,
    days        INTEGER NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  TIMESTAMP NOT NULL
);
CREATE TABLE legal_holds (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    entity_id    INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    placed_by    TEXT NOT NULL DEFAULT '',
    placed_at    TIMESTAMP NOT NULL,
    released_at  TIMESTAMP
);
CREATE INDEX legal_holds_entity ON legal_holds (kind, entity_id) WHERE released_at IS NULL;
ALTER TABLE matters ADD COLUMN anonymised_at TIMESTAMP;

-- A resident's requests about their personal data (PIPL): to see or
-- export it, to withdraw a consent, to have it erased; by themselves or by
-- an office worker on their behalf; with the administrator's decision and
-- what was erased, anonymised or kept and why. Not a foreign key to
-- people: the record outlives the person's record.
CREATE TABLE privacy_requests (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL,
    person_id     INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    requested_by  TEXT NOT NULL DEFAULT '',
    on_behalf     BOOLEAN NOT NULL DEFAULT FALSE,
    reviewed_by   TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    decided_at    TIMESTAMP
);
CREATE INDEX privacy_requests_person ON privacy_requests (person_id, id);
CREATE INDEX privacy_requests_status ON privacy_requests (community_id, status, id);
ALTER TABLE people ADD COLUMN anonymised_at TIMESTAMP;

-- +goose Down
ALTER TABLE people DROP COLUMN anonymised_at;
DROP TABLE privacy_requests;
ALTER TABLE matters DROP COLUMN anonymised_at;
DROP TABLE legal_holds;
DROP TABLE retention_settings;
DROP TABLE backup_runs;
ALTER TABLE open311_requests DROP COLUMN pii_key;
ALTER TABLE alarm_panels DROP COLUMN pii_key;
ALTER TABLE users DROP COLUMN pii_key;
ALTER TABLE emergency_contacts DROP COLUMN pii_key;
ALTER TABLE people DROP COLUMN pii_key;
