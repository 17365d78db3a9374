-- +goose Up
-- Where each rundown item begins in a rendered slot (seconds, JSON), so
-- that a non-urgent announcement waits for the current item only; and how
-- many listeners each as-run entry went out to.
ALTER TABLE broadcast_renders ADD COLUMN marks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE broadcast_asrun ADD COLUMN listeners INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE broadcast_asrun DROP COLUMN listeners;
ALTER TABLE broadcast_renders DROP COLUMN marks;
