-- +goose Up
-- The services associations give: individual services (a case about one
-- resident, with its dated actions) and group services (an event with its
-- attendance), and the rollup the statistics read: services per
-- association, month and kind, and the residents served per association
-- and month. The rollup is kept in the transaction of every write.
CREATE TABLE assoc_cases (
    id              INTEGER PRIMARY KEY,
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    kind            TEXT NOT NULL,
    person_id       INTEGER REFERENCES people(id),
    summary         TEXT NOT NULL,
    -- day is the date the service counts on, YYYY-MM-DD in the
    -- community's calendar: opened (individual) or held (group).
    day             TEXT NOT NULL,
    place           TEXT NOT NULL DEFAULT '',
    topic           TEXT NOT NULL DEFAULT '',
    attendance      INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT '',
    opened_at       TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX assoc_cases_day ON assoc_cases (community_id, day);
CREATE INDEX assoc_cases_association ON assoc_cases (association_id, day);
CREATE INDEX assoc_cases_person ON assoc_cases (person_id);

CREATE TABLE case_actions (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES assoc_cases(id) ON DELETE CASCADE,
    at        TIMESTAMP NOT NULL,
    note      TEXT NOT NULL,
    user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_actions_case ON case_actions (case_id, at);

CREATE TABLE case_attendees (
    case_id    INTEGER NOT NULL REFERENCES assoc_cases(id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    PRIMARY KEY (case_id, person_id)
);
CREATE INDEX case_attendees_person ON case_attendees (person_id);

CREATE TABLE case_rollup (
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    month           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    services        INTEGER NOT NULL,
    PRIMARY KEY (association_id, month, kind)
);
CREATE INDEX case_rollup_community ON case_rollup (community_id, month);

-- refs counts the services of the month that name the resident, so that
-- a change to one of them knows whether the resident still counts.
CREATE TABLE case_people (
    community_id    INTEGER NOT NULL REFERENCES communities(id),
    association_id  INTEGER NOT NULL REFERENCES associations(id),
    month           TEXT NOT NULL,
    person_id       INTEGER NOT NULL,
    refs            INTEGER NOT NULL,
    PRIMARY KEY (association_id, month, person_id)
);
CREATE INDEX case_people_community ON case_people (community_id, month);

-- +goose Down
DROP TABLE case_people;
DROP TABLE case_rollup;
DROP TABLE case_attendees;
DROP TABLE case_actions;
DROP TABLE assoc_cases;
