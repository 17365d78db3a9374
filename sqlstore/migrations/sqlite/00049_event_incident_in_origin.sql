-- +goose Up
-- One index by home for an event's home, panel and incident: the
-- incident's id goes at the end of (home_id, account, seq) and the index
-- by incident goes. In an alarm storm every event joins its home's
-- incident, and each of the two indexes put it on a page of its own (its
-- home's, its incident's), each written to the log at every commit that
-- touched it: 1.72 pages a frame with both, 1.35 with the home's alone
-- (docs/benchmarks.md, "Alarm storm"). An incident's events are a home's
-- events (or, for an incident of no home, events of no home), so its
-- readers go by its home and find the incident's entries in the index
-- itself, reading only those rows.
DROP INDEX alarm_events_incident;
DROP INDEX alarm_events_origin;
CREATE INDEX alarm_events_origin ON alarm_events (home_id, account, seq, incident_id);

-- +goose Down
DROP INDEX alarm_events_origin;
CREATE INDEX alarm_events_origin ON alarm_events (home_id, account, seq);
CREATE INDEX alarm_events_incident ON alarm_events (incident_id) WHERE incident_id IS NOT NULL;
