-- +goose Up
-- Versions of the staff's lists (issue 13), beside the notice feed's
-- (migration 00036): the API keeps an encoded page of the homes and of the
-- incident queue per scope and filter, and sends it again while these
-- numbers have not moved. They are rows in the database, moved by
-- triggers, so a change from another node or process (or one written by
-- hand) shows at the next request.
--
-- places: what a home's row shows and who reaches it: homes, a building's
-- name and grid, and which home a household lives in (a resident's scope).
-- incidents: any change of an incident (the queue shows every column).
INSERT INTO change_counters (name, version) VALUES ('places', 0), ('incidents', 0);

-- +goose StatementBegin
CREATE TRIGGER homes_places_i AFTER INSERT ON homes
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER homes_places_u AFTER UPDATE ON homes
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER homes_places_d AFTER DELETE ON homes
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER buildings_places_u AFTER UPDATE OF name, grid_id, community_id ON buildings
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER buildings_places_d AFTER DELETE ON buildings
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_places_i AFTER INSERT ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_places_u AFTER UPDATE OF home_id ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_places_d AFTER DELETE ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'places'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_queue_i AFTER INSERT ON incidents
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'incidents'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_queue_u AFTER UPDATE ON incidents
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'incidents'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_queue_d AFTER DELETE ON incidents
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'incidents'; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER homes_places_i;
DROP TRIGGER homes_places_u;
DROP TRIGGER homes_places_d;
DROP TRIGGER buildings_places_u;
DROP TRIGGER buildings_places_d;
DROP TRIGGER households_places_i;
DROP TRIGGER households_places_u;
DROP TRIGGER households_places_d;
DROP TRIGGER incidents_queue_i;
DROP TRIGGER incidents_queue_u;
DROP TRIGGER incidents_queue_d;
DELETE FROM change_counters WHERE name IN ('places', 'incidents');
