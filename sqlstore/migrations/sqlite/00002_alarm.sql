-- +goose Up
-- Staff are reached by SMS: dispatches, escalations, police alerts.
ALTER TABLE users ADD COLUMN phone_enc TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'zh-Hans';

CREATE TABLE alarm_panels (
    id                   INTEGER PRIMARY KEY,
    community_id         INTEGER NOT NULL REFERENCES communities(id),
    home_id              INTEGER NOT NULL REFERENCES homes(id),
    device_id            INTEGER REFERENCES devices(id) ON DELETE SET NULL,
    account              TEXT NOT NULL UNIQUE,
    key_enc              TEXT NOT NULL DEFAULT '',
    supervision_seconds  INTEGER NOT NULL DEFAULT 0,
    last_seen_at         TIMESTAMP,
    comm_failed          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMP NOT NULL
);
CREATE INDEX alarm_panels_home ON alarm_panels (home_id);

CREATE TABLE alarm_sensors (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    home_id       INTEGER NOT NULL REFERENCES homes(id),
    device_id     INTEGER REFERENCES devices(id) ON DELETE SET NULL,
    kind          TEXT NOT NULL,
    zone          TEXT NOT NULL,
    mqtt_name     TEXT NOT NULL UNIQUE,
    last_state    TEXT NOT NULL DEFAULT '',
    online        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX alarm_sensors_home ON alarm_sensors (home_id);

CREATE TABLE arm_states (
    home_id       INTEGER PRIMARY KEY REFERENCES homes(id),
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    state         TEXT NOT NULL,
    mode          TEXT NOT NULL DEFAULT '',
    since         TIMESTAMP NOT NULL,
    deadline      TIMESTAMP,
    entry_delay   INTEGER NOT NULL DEFAULT 30,
    zone          TEXT NOT NULL DEFAULT '',
    changed_by    TEXT NOT NULL DEFAULT '',
    pin_hash      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX arm_states_deadline ON arm_states (deadline) WHERE deadline IS NOT NULL;

-- Automatic arming of a home: when the last resident using the app
-- leaves, and/or daily at a set local time.
CREATE TABLE arm_rules (
    home_id       INTEGER PRIMARY KEY REFERENCES homes(id),
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    arm_on_leave  BOOLEAN NOT NULL DEFAULT FALSE,
    arm_at        TEXT NOT NULL DEFAULT '',
    mode          TEXT NOT NULL DEFAULT 'home',
    last_arm_day  TEXT NOT NULL DEFAULT ''
);

-- Whether each resident using the app said they are at home.
CREATE TABLE presence (
    user_id  INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    home_id  INTEGER NOT NULL REFERENCES homes(id),
    present  BOOLEAN NOT NULL,
    at       TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    home_id        INTEGER REFERENCES homes(id),
    panel_id       INTEGER REFERENCES alarm_panels(id),
    kind           TEXT NOT NULL,
    priority       INTEGER NOT NULL,
    status         TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    opened_at      TIMESTAMP NOT NULL,
    last_event_at  TIMESTAMP NOT NULL,
    event_count    INTEGER NOT NULL DEFAULT 0,
    ack_at         TIMESTAMP,
    ack_by         INTEGER,
    dispatched_at  TIMESTAMP,
    dispatched_to  INTEGER,
    accepted_at    TIMESTAMP,
    arrived_at     TIMESTAMP,
    resolved_at    TIMESTAMP,
    resolved_by    INTEGER,
    resolution     TEXT NOT NULL DEFAULT '',
    notes          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_open ON incidents (community_id, status, priority, opened_at);
CREATE INDEX incidents_home ON incidents (home_id, status);

CREATE TABLE alarm_events (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL,
    home_id       INTEGER,
    panel_id      INTEGER,
    sensor_id     INTEGER,
    incident_id   INTEGER,
    source        TEXT NOT NULL,
    account       TEXT NOT NULL,
    seq           TEXT NOT NULL DEFAULT '',
    fingerprint   TEXT NOT NULL DEFAULT '',
    code          TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    restore       BOOLEAN NOT NULL DEFAULT FALSE,
    area          TEXT NOT NULL DEFAULT '',
    zone          TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL DEFAULT '',
    panel_time    TIMESTAMP,
    received_at   TIMESTAMP NOT NULL
);
CREATE INDEX alarm_events_account ON alarm_events (account, seq);
CREATE INDEX alarm_events_home ON alarm_events (home_id, received_at);
CREATE INDEX alarm_events_incident ON alarm_events (incident_id);
CREATE INDEX alarm_events_community ON alarm_events (community_id, id);

-- Everything an incident went through, for its timeline.
CREATE TABLE incident_log (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    at           TIMESTAMP NOT NULL,
    action       TEXT NOT NULL,
    user_id      INTEGER,
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);

-- Work to do after a commit (SMS, dispatch offers, escalations): written in
-- the transaction that caused it, done by workers, never twice.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_at           TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    done_at          TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, run_at);

CREATE TABLE staff_positions (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    lat          REAL NOT NULL,
    lng          REAL NOT NULL,
    on_duty      BOOLEAN NOT NULL DEFAULT TRUE,
    reported_at  TIMESTAMP NOT NULL
);

-- What the live console and the resident's page are told, in commit order.
-- Clients resume with the last id they saw (SSE Last-Event-ID), so nothing
-- is missed across a reconnect or a restart.
CREATE TABLE live_events (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL,
    home_id       INTEGER,
    grid_id       INTEGER,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    at            TIMESTAMP NOT NULL
);
CREATE INDEX live_events_community ON live_events (community_id, id);

-- +goose Down
DROP TABLE live_events;
DROP TABLE staff_positions;
DROP TABLE outbox;
DROP TABLE incident_log;
DROP TABLE alarm_events;
DROP TABLE incidents;
DROP TABLE presence;
DROP TABLE arm_rules;
DROP TABLE arm_states;
DROP TABLE alarm_sensors;
DROP TABLE alarm_panels;
ALTER TABLE users DROP COLUMN lang;
ALTER TABLE users DROP COLUMN phone_enc;
