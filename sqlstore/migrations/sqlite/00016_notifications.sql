-- +goose Up
-- Every message owed to someone about an incident, from queued to
-- delivered or failed: the operator's answer to "was the householder
-- told?". A row is written in the transaction that queues the SMS job
-- (job_key is its idempotency key), so none is missing or doubled. The
-- person and user are not foreign keys: what was sent stays on record
-- after a person moves out.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    incident_id   INTEGER NOT NULL REFERENCES incidents(id),
    job_key       TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    person_id     INTEGER,
    user_id       INTEGER,
    name          TEXT NOT NULL DEFAULT '',
    masked_phone  TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    queued_at     TIMESTAMP NOT NULL,
    sent_at       TIMESTAMP,
    delivered_at  TIMESTAMP,
    failed_at     TIMESTAMP,
    gateway_id    TEXT NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_incident ON notifications (incident_id, queued_at);
-- Receipts that come without our key name the message by the gateway's id.
CREATE INDEX notifications_gateway ON notifications (gateway_id) WHERE gateway_id <> '';

-- +goose Down
DROP TABLE notifications;
