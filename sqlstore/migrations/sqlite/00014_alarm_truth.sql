-- +goose Up
-- The alarm kinds an incident took in: correlation groups events, but each
-- kind still owes its own notices, so the incident remembers which it had.
ALTER TABLE incidents ADD COLUMN kinds TEXT NOT NULL DEFAULT '';
UPDATE incidents SET kinds = kind;

-- What the residents call a panel's zones and a sensor ("客厅窗", "入户门"),
-- so that nobody reads "zone 02".
CREATE TABLE alarm_zones (
    panel_id  INTEGER NOT NULL REFERENCES alarm_panels(id) ON DELETE CASCADE,
    zone      TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (panel_id, zone)
);
ALTER TABLE alarm_sensors ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alarm_sensors DROP COLUMN name;
DROP TABLE alarm_zones;
ALTER TABLE incidents DROP COLUMN kinds;
