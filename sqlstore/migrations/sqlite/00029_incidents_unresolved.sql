-- +goose Up
-- The operator's queue (incidents not resolved, by priority then age) read
-- in order from an index of the unresolved ones only: incidents_open has
-- status before priority, so "status <> 'resolved'" needed a sort of every
-- open incident before the page's first row (issue 13). The condition is
-- the one ListIncidents writes, which is what lets the planner use it.
CREATE INDEX incidents_unresolved ON incidents (community_id, priority, opened_at) WHERE status <> 'resolved';

-- +goose Down
DROP INDEX incidents_unresolved;
