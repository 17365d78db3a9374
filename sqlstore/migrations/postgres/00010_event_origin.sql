-- +goose Up
-- One index keyed by home for what the alarm events were found by through
-- two: (account, seq) for retransmissions and a panel's events, and
-- (home_id, received_at) for a home's. Each home's entries sit on a page of
-- their own, so every index keyed by home costs every event a page
-- written at its commit; the ingest writer spent a third of its time on
-- the second one (docs/benchmarks.md, "Alarm centre"). A panel or sensor
-- belongs to one home, so (home_id, account, seq) serves all three.
DROP INDEX alarm_events_account;
DROP INDEX alarm_events_home;
CREATE INDEX alarm_events_origin ON alarm_events (home_id, account, seq);
-- Most events (tests, openings and closings, restores) join no incident;
-- they need no entry in the index that finds an incident's events.
DROP INDEX alarm_events_incident;
CREATE INDEX alarm_events_incident ON alarm_events (incident_id) WHERE incident_id IS NOT NULL;

-- +goose Down
DROP INDEX alarm_events_origin;
DROP INDEX alarm_events_incident;
CREATE INDEX alarm_events_incident ON alarm_events (incident_id);
CREATE INDEX alarm_events_account ON alarm_events (account, seq);
CREATE INDEX alarm_events_home ON alarm_events (home_id, received_at);
