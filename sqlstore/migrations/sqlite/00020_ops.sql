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

-- +goose Down
ALTER TABLE matters DROP COLUMN anonymised_at;
DROP TABLE legal_holds;
DROP TABLE retention_settings;
DROP TABLE backup_runs;
ALTER TABLE open311_requests DROP COLUMN pii_key;
ALTER TABLE alarm_panels DROP COLUMN pii_key;
ALTER TABLE users DROP COLUMN pii_key;
ALTER TABLE emergency_contacts DROP COLUMN pii_key;
ALTER TABLE people DROP COLUMN pii_key;
