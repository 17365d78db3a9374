-- +goose Up
-- Device health that is measured: how each device is checked (the secret,
-- a password or SNMP community, sealed like personal data), what the last
-- check found, hourly counts of checks for uptime over 24 hours and 30
-- days, and which devices each trouble incident lists.
ALTER TABLE devices ADD COLUMN status_since TIMESTAMP;
ALTER TABLE devices ADD COLUMN last_checked_at TIMESTAMP;
ALTER TABLE devices ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN health_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN check_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN check_target TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN check_username TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN check_secret_enc TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN check_interval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN check_options TEXT NOT NULL DEFAULT '';
-- "fault" was set by hand and meant nothing measured: it becomes unknown.
UPDATE devices SET status = 'unknown' WHERE status = 'fault';
CREATE INDEX devices_checked ON devices (check_kind) WHERE check_kind <> '';

-- One row per device and hour: checks made and how many found it online.
-- 720 rows a device for 30 days; older rows are pruned.
CREATE TABLE device_uptime (
    device_id  INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    hour       TIMESTAMP NOT NULL,
    checks     INTEGER NOT NULL,
    up         INTEGER NOT NULL,
    PRIMARY KEY (device_id, hour)
);

-- The devices a trouble incident lists. The device is no foreign key: the
-- incident's record outlives a device taken out of the registry.
CREATE TABLE device_trouble (
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    device_id    INTEGER NOT NULL,
    group_key    TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    down_since   TIMESTAMP NOT NULL,
    listed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, device_id)
);
CREATE INDEX device_trouble_group ON device_trouble (group_key);
CREATE INDEX device_uptime_hour ON device_uptime (hour);

-- Panels and sensors registered before now get their registry entry.
INSERT INTO devices (community_id, kind, name, serial, grid_id, building_id, home_id, status, created_at, updated_at)
SELECT p.community_id, 'alarm_panel', '报警主机 ' || p.account, p.account, b.grid_id, h.building_id, p.home_id, 'unknown', p.created_at, p.created_at
FROM alarm_panels p JOIN homes h ON h.id = p.home_id JOIN buildings b ON b.id = h.building_id WHERE p.device_id IS NULL;
UPDATE alarm_panels SET device_id = (SELECT d.id FROM devices d WHERE d.community_id = alarm_panels.community_id AND d.kind = 'alarm_panel' AND d.serial = alarm_panels.account)
WHERE device_id IS NULL;
INSERT INTO devices (community_id, kind, name, serial, grid_id, building_id, home_id, status, created_at, updated_at)
SELECT x.community_id, 'sensor', '传感器 ' || x.mqtt_name, x.mqtt_name, b.grid_id, h.building_id, x.home_id, 'unknown', x.created_at, x.created_at
FROM alarm_sensors x JOIN homes h ON h.id = x.home_id JOIN buildings b ON b.id = h.building_id WHERE x.device_id IS NULL;
UPDATE alarm_sensors SET device_id = (SELECT d.id FROM devices d WHERE d.community_id = alarm_sensors.community_id AND d.kind = 'sensor' AND d.serial = alarm_sensors.mqtt_name)
WHERE device_id IS NULL;

-- +goose Down
DROP TABLE device_trouble;
DROP TABLE device_uptime;
DROP INDEX devices_checked;
ALTER TABLE devices DROP COLUMN check_options;
ALTER TABLE devices DROP COLUMN check_interval;
ALTER TABLE devices DROP COLUMN check_secret_enc;
ALTER TABLE devices DROP COLUMN check_username;
ALTER TABLE devices DROP COLUMN check_target;
ALTER TABLE devices DROP COLUMN check_kind;
ALTER TABLE devices DROP COLUMN health_detail;
ALTER TABLE devices DROP COLUMN last_error;
ALTER TABLE devices DROP COLUMN last_checked_at;
ALTER TABLE devices DROP COLUMN status_since;
