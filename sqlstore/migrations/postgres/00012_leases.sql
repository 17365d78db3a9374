-- +goose Up
-- A lease names the one node of a deployment that runs a periodic chore
-- (the alarm timers): a node holds it while it renews it before
-- expires_at, and another takes it over once it has run out.
CREATE TABLE leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    acquired_at  TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE leases;
