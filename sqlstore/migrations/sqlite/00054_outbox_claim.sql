-- +goose Up
-- Which claim of a job is the present one: each claim adds one, and the
-- node that claimed records the job's outcome only while the number is
-- still the one it claimed under (jobs.ErrClaimLost). A node whose claim
-- ran out while it worked (a slow gateway, a paused VM) cannot then put
-- back, or mark done, a job another node has claimed since. A job queued
-- before this migration starts at 0, as if never claimed.
ALTER TABLE outbox ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE outbox DROP COLUMN claim;
