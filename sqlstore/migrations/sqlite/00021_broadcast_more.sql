-- +goose Up
-- Where each rundown item begins in a rendered slot (seconds, JSON), so
-- that a non-urgent announcement waits for the current item only; and how
-- many listeners each as-run entry went out to.
ALTER TABLE broadcast_renders ADD COLUMN marks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE broadcast_asrun ADD COLUMN listeners INTEGER NOT NULL DEFAULT 0;
-- A song request's occasion, the day wished for, and when it aired.
ALTER TABLE broadcast_dedications ADD COLUMN occasion TEXT NOT NULL DEFAULT '';
ALTER TABLE broadcast_dedications ADD COLUMN wished_day TEXT NOT NULL DEFAULT '';
ALTER TABLE broadcast_dedications ADD COLUMN aired_at TIMESTAMP;

-- +goose Down
ALTER TABLE broadcast_dedications DROP COLUMN aired_at;
ALTER TABLE broadcast_dedications DROP COLUMN wished_day;
ALTER TABLE broadcast_dedications DROP COLUMN occasion;
ALTER TABLE broadcast_asrun DROP COLUMN listeners;
ALTER TABLE broadcast_renders DROP COLUMN marks;
