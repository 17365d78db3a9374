-- +goose Up
-- Mediation cases with their parties, sessions and follow-up checks; the
-- relief and subsidy policies with their eligibility rules (as JSON, read
-- by the store into SQL over ledger_values) and the applications under
-- them.
CREATE TABLE mediations (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    subject         TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT '',
    agreement       TEXT NOT NULL DEFAULT '',
    signed          BOOLEAN NOT NULL DEFAULT FALSE,
    outcome_note    TEXT NOT NULL DEFAULT '',
    concluded_at    TIMESTAMP,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX mediations_association ON mediations (association_id, created_at);
CREATE INDEX mediations_concluded ON mediations (community_id, concluded_at);

CREATE TABLE mediation_parties (
    id              INTEGER PRIMARY KEY,
    mediation_id    INTEGER NOT NULL REFERENCES mediations(id) ON DELETE CASCADE,
    person_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    organisation    TEXT NOT NULL DEFAULT '',
    side            TEXT NOT NULL,
    representative  BOOLEAN NOT NULL DEFAULT FALSE,
    represents      INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX mediation_parties_mediation ON mediation_parties (mediation_id, id);

CREATE TABLE mediation_sessions (
    id               INTEGER PRIMARY KEY,
    mediation_id     INTEGER NOT NULL REFERENCES mediations(id) ON DELETE CASCADE,
    held_at          TIMESTAMP NOT NULL,
    place            TEXT NOT NULL,
    attendees        TEXT NOT NULL DEFAULT '[]',
    other_attendees  TEXT NOT NULL DEFAULT '',
    notes            TEXT NOT NULL DEFAULT '',
    created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX mediation_sessions_mediation ON mediation_sessions (mediation_id, held_at);

CREATE TABLE mediation_checks (
    id            INTEGER PRIMARY KEY,
    mediation_id  INTEGER NOT NULL REFERENCES mediations(id) ON DELETE CASCADE,
    checked_on    TEXT NOT NULL,
    question      TEXT NOT NULL,
    resolved      BOOLEAN NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    closes        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX mediation_checks_mediation ON mediation_checks (mediation_id, id);

CREATE TABLE assistance_policies (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    benefit         TEXT NOT NULL,
    valid_from      TEXT NOT NULL,
    valid_to        TEXT NOT NULL DEFAULT '',
    rules           TEXT NOT NULL DEFAULT '[]',
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (community_id, name)
);

CREATE TABLE assistance_applications (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    policy_id     INTEGER NOT NULL REFERENCES assistance_policies(id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    note          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    decided_on    TEXT NOT NULL DEFAULT '',
    decided_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
-- A resident has at most one application under a policy that is pending
-- or granted; after a refusal they may apply again.
CREATE UNIQUE INDEX assistance_applications_live ON assistance_applications (policy_id, person_id) WHERE status <> 'refused';
CREATE INDEX assistance_applications_person ON assistance_applications (person_id);

-- +goose Down
DROP TABLE assistance_applications;
DROP TABLE assistance_policies;
DROP TABLE mediation_checks;
DROP TABLE mediation_sessions;
DROP TABLE mediation_parties;
DROP TABLE mediations;
