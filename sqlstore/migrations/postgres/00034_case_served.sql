-- +goose Up
-- The residents each association served in a month, as one compact set
-- (sqlstore/stats_sets.go): the dashboard merges a period's sets instead
-- of reading a row per resident and month. ids holds the ids ascending,
-- the first whole and each next as its step from the one before, in
-- decimal, comma separated; people is how many. Built here from
-- case_people for the services already recorded, then kept by every case
-- write in its transaction.
CREATE TABLE case_served (
    community_id    BIGINT NOT NULL REFERENCES communities(id),
    association_id  BIGINT NOT NULL REFERENCES associations(id),
    month           TEXT NOT NULL,
    people          INTEGER NOT NULL,
    ids             TEXT NOT NULL,
    PRIMARY KEY (association_id, month)
);
CREATE INDEX case_served_community ON case_served (community_id, month);

INSERT INTO case_served (community_id, association_id, month, people, ids)
    SELECT community_id, association_id, month, COUNT(*), string_agg(CAST(step AS TEXT), ',' ORDER BY person_id) FROM (
        SELECT community_id, association_id, month, person_id,
            person_id - COALESCE(LAG(person_id) OVER (PARTITION BY association_id, month ORDER BY person_id), 0) AS step
        FROM case_people
    ) x GROUP BY community_id, association_id, month;

-- The days of a period that do not make a whole month are counted from
-- the cases: an index that holds what is counted spares a visit to each
-- case's row. It covers every query the old one (community, day) served.
CREATE INDEX assoc_cases_counted ON assoc_cases (community_id, day, association_id, kind, person_id);
DROP INDEX assoc_cases_day;

-- +goose Down
CREATE INDEX assoc_cases_day ON assoc_cases (community_id, day);
DROP INDEX assoc_cases_counted;
DROP TABLE case_served;
