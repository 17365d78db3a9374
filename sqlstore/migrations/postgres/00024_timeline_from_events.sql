-- +goose Up
-- An incident's timeline takes its "opened" and "event" entries from the
-- incident's events (alarm_events.incident_id); incident_log keeps what
-- people and timers did to it. The lines that repeated each event go: in
-- an alarm storm they cost every frame a row and an index page at its
-- commit (docs/benchmarks.md, "Alarm storm"). Each of them was written in
-- the transaction of its event, which is kept (events are never deleted),
-- so the timeline says what it said before.
DELETE FROM incident_log WHERE action IN ('opened', 'event');

-- +goose Down
INSERT INTO incident_log (incident_id, at, action, detail)
SELECT e.incident_id, e.received_at,
       CASE WHEN e.id = (SELECT MIN(f.id) FROM alarm_events f WHERE f.incident_id = e.incident_id) THEN 'opened' ELSE 'event' END,
       json_build_object('kind', e.kind, 'restore', e.restore, 'zone', e.zone, 'code', e.code, 'text', e.text, 'source', e.source)::text
FROM alarm_events e WHERE e.incident_id IS NOT NULL ORDER BY e.id;
