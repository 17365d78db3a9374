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
-- Statement triggers: a batch of the alarm ingest that updates many
-- incidents in one statement moves the version once.
INSERT INTO change_counters (name, version) VALUES ('places', 0), ('incidents', 0);

-- +goose StatementBegin
CREATE FUNCTION places_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'places';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION incidents_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'incidents';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER homes_places AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON homes FOR EACH STATEMENT EXECUTE FUNCTION places_changed();
CREATE TRIGGER buildings_places AFTER DELETE OR TRUNCATE OR UPDATE OF name, grid_id, community_id ON buildings FOR EACH STATEMENT EXECUTE FUNCTION places_changed();
CREATE TRIGGER households_places AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF home_id ON households FOR EACH STATEMENT EXECUTE FUNCTION places_changed();
CREATE TRIGGER incidents_queue AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents FOR EACH STATEMENT EXECUTE FUNCTION incidents_changed();

-- +goose Down
DROP TRIGGER homes_places ON homes;
DROP TRIGGER buildings_places ON buildings;
DROP TRIGGER households_places ON households;
DROP TRIGGER incidents_queue ON incidents;
DROP FUNCTION places_changed;
DROP FUNCTION incidents_changed;
DELETE FROM change_counters WHERE name IN ('places', 'incidents');
