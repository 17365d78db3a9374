-- +goose Up
-- The welfare watch of a living-alone elder: with their (or their
-- family's) recorded consent, no door passage for days opens a
-- welfare-check visit for their grid worker. Off unless a row says on.
CREATE TABLE access_welfare (
    person_id      INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    days           INTEGER NOT NULL,
    consent_by     TEXT NOT NULL,
    consent_note   TEXT NOT NULL DEFAULT '',
    since          TIMESTAMP NOT NULL,
    changed_at     TIMESTAMP NOT NULL,
    changed_by     TEXT NOT NULL DEFAULT '',
    last_check_at  TIMESTAMP
);

-- +goose Down
DROP TABLE access_welfare;
