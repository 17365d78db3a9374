-- +goose Up
-- The Open311 listing's version per community (issue 13): GET
-- requests.{json,xml} is kept encoded in memory per community and filter
-- and sent again while this number has not moved. Every change that can
-- change what a listing shows moves it: the community's matters, their
-- Open311 extras (building, media), its categories (name, notice), and a
-- home or building moving or being renamed (a matter at a home is shown
-- at its building). The community's own name and zone are read with
-- every request and are part of the key, not of this number. It lives in
-- the database, not in one process, so that every node sees another's
-- change at its next request. A row is made by the first change; no row
-- is version 0. Rows are never deleted, so a version never goes back.
--
-- The triggers fire once per statement and move each community the
-- statement touched by one upsert (in community order, so that two bulk
-- statements do not deadlock): a matter step costs one more row update,
-- and a bulk update of ten thousand matters one, not ten thousand.
CREATE TABLE open311_feed_versions (
    community_id  BIGINT PRIMARY KEY,
    version       BIGINT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION open311_feed_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT DISTINCT community_id, 1 FROM n ORDER BY community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT DISTINCT community_id, 1 FROM o ORDER BY community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    ELSE
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT community_id, 1 FROM (SELECT community_id FROM n UNION SELECT community_id FROM o) c ORDER BY community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- open311_requests names its matter, not the community.
-- +goose StatementBegin
CREATE FUNCTION open311_feed_extras_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT DISTINCT m.community_id, 1 FROM matters m WHERE m.id IN (SELECT matter_id FROM n) ORDER BY m.community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT DISTINCT m.community_id, 1 FROM matters m WHERE m.id IN (SELECT matter_id FROM o) ORDER BY m.community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    ELSE
        INSERT INTO open311_feed_versions (community_id, version)
        SELECT DISTINCT m.community_id, 1 FROM matters m WHERE m.id IN (SELECT matter_id FROM n UNION SELECT matter_id FROM o) ORDER BY m.community_id
        ON CONFLICT (community_id) DO UPDATE SET version = open311_feed_versions.version + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- A trigger with transition tables serves one event, hence three per table.
CREATE TRIGGER matters_open311_i AFTER INSERT ON matters REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER matters_open311_u AFTER UPDATE ON matters REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER matters_open311_d AFTER DELETE ON matters REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER matter_categories_open311_i AFTER INSERT ON matter_categories REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER matter_categories_open311_u AFTER UPDATE ON matter_categories REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER matter_categories_open311_d AFTER DELETE ON matter_categories REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER homes_open311_u AFTER UPDATE ON homes REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER buildings_open311_u AFTER UPDATE ON buildings REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_changed();
CREATE TRIGGER open311_requests_open311_i AFTER INSERT ON open311_requests REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_extras_changed();
CREATE TRIGGER open311_requests_open311_u AFTER UPDATE ON open311_requests REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_extras_changed();
CREATE TRIGGER open311_requests_open311_d AFTER DELETE ON open311_requests REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION open311_feed_extras_changed();

-- +goose Down
DROP TRIGGER matters_open311_i ON matters;
DROP TRIGGER matters_open311_u ON matters;
DROP TRIGGER matters_open311_d ON matters;
DROP TRIGGER matter_categories_open311_i ON matter_categories;
DROP TRIGGER matter_categories_open311_u ON matter_categories;
DROP TRIGGER matter_categories_open311_d ON matter_categories;
DROP TRIGGER homes_open311_u ON homes;
DROP TRIGGER buildings_open311_u ON buildings;
DROP TRIGGER open311_requests_open311_i ON open311_requests;
DROP TRIGGER open311_requests_open311_u ON open311_requests;
DROP TRIGGER open311_requests_open311_d ON open311_requests;
DROP FUNCTION open311_feed_extras_changed;
DROP FUNCTION open311_feed_changed;
DROP TABLE open311_feed_versions;
