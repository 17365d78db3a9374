-- +goose Up
-- The notice feed's version (issue 13): a resident's feed is kept in
-- memory by audience and read again only when this number moved, or when
-- a notice's publication or expiry time passed. Every change that can
-- change what a feed shows moves it: the notices, their targets,
-- confirmations and files, and a household, home or building moving
-- (the audience of a household is its home's building and grid). It is a
-- row in the database, not a number in one process, so that every node
-- sees another's change at its next request.
CREATE TABLE change_counters (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO change_counters (name, version) VALUES ('notices', 0);

-- +goose StatementBegin
CREATE FUNCTION notices_feed_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'notices';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER notices_feed AFTER INSERT OR UPDATE OR DELETE ON notices FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER notice_targets_feed AFTER INSERT OR UPDATE OR DELETE ON notice_targets FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER notice_confirmations_feed AFTER INSERT OR UPDATE OR DELETE ON notice_confirmations FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER media_feed_iu AFTER INSERT OR UPDATE ON media FOR EACH ROW WHEN (NEW.owner_kind = 'notice') EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER media_feed_d AFTER DELETE ON media FOR EACH ROW WHEN (OLD.owner_kind = 'notice') EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER households_feed AFTER INSERT OR DELETE OR UPDATE OF home_id ON households FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER homes_feed AFTER UPDATE OF building_id ON homes FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();
CREATE TRIGGER buildings_feed AFTER UPDATE OF grid_id ON buildings FOR EACH STATEMENT EXECUTE FUNCTION notices_feed_changed();

-- +goose Down
DROP TRIGGER notices_feed ON notices;
DROP TRIGGER notice_targets_feed ON notice_targets;
DROP TRIGGER notice_confirmations_feed ON notice_confirmations;
DROP TRIGGER media_feed_iu ON media;
DROP TRIGGER media_feed_d ON media;
DROP TRIGGER households_feed ON households;
DROP TRIGGER homes_feed ON homes;
DROP TRIGGER buildings_feed ON buildings;
DROP FUNCTION notices_feed_changed;
DROP TABLE change_counters;
