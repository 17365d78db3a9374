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
-- SQLite's triggers fire once per row: a matter step costs one more
-- upsert of one row, on the page the writer holds anyway.
CREATE TABLE open311_feed_versions (
    community_id  INTEGER PRIMARY KEY,
    version       INTEGER NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER matters_open311_i AFTER INSERT ON matters
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matters_open311_u AFTER UPDATE ON matters
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matters_open311_um AFTER UPDATE OF community_id ON matters WHEN OLD.community_id <> NEW.community_id
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (OLD.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matters_open311_d AFTER DELETE ON matters
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (OLD.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matter_categories_open311_i AFTER INSERT ON matter_categories
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matter_categories_open311_u AFTER UPDATE ON matter_categories
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matter_categories_open311_um AFTER UPDATE OF community_id ON matter_categories WHEN OLD.community_id <> NEW.community_id
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (OLD.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER matter_categories_open311_d AFTER DELETE ON matter_categories
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (OLD.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER homes_open311_u AFTER UPDATE OF building_id ON homes
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER buildings_open311_u AFTER UPDATE OF community_id, name, address, lat, lng ON buildings
BEGIN INSERT INTO open311_feed_versions (community_id, version) VALUES (NEW.community_id, 1) ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- open311_requests names its matter, not the community.
-- +goose StatementBegin
CREATE TRIGGER open311_requests_open311_i AFTER INSERT ON open311_requests
BEGIN INSERT INTO open311_feed_versions (community_id, version) SELECT community_id, 1 FROM matters WHERE id = NEW.matter_id ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER open311_requests_open311_u AFTER UPDATE ON open311_requests
BEGIN INSERT INTO open311_feed_versions (community_id, version) SELECT community_id, 1 FROM matters WHERE id = NEW.matter_id ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER open311_requests_open311_d AFTER DELETE ON open311_requests
BEGIN INSERT INTO open311_feed_versions (community_id, version) SELECT community_id, 1 FROM matters WHERE id = OLD.matter_id ON CONFLICT (community_id) DO UPDATE SET version = version + 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER matters_open311_i;
DROP TRIGGER matters_open311_u;
DROP TRIGGER matters_open311_um;
DROP TRIGGER matters_open311_d;
DROP TRIGGER matter_categories_open311_i;
DROP TRIGGER matter_categories_open311_u;
DROP TRIGGER matter_categories_open311_um;
DROP TRIGGER matter_categories_open311_d;
DROP TRIGGER homes_open311_u;
DROP TRIGGER buildings_open311_u;
DROP TRIGGER open311_requests_open311_i;
DROP TRIGGER open311_requests_open311_u;
DROP TRIGGER open311_requests_open311_d;
DROP TABLE open311_feed_versions;
