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
    version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO change_counters (name, version) VALUES ('notices', 0);

-- +goose StatementBegin
CREATE TRIGGER notices_feed_i AFTER INSERT ON notices
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notices_feed_u AFTER UPDATE ON notices
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notices_feed_d AFTER DELETE ON notices
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_targets_feed_i AFTER INSERT ON notice_targets
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_targets_feed_u AFTER UPDATE ON notice_targets
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_targets_feed_d AFTER DELETE ON notice_targets
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_confirmations_feed_i AFTER INSERT ON notice_confirmations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_confirmations_feed_u AFTER UPDATE ON notice_confirmations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER notice_confirmations_feed_d AFTER DELETE ON notice_confirmations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER media_feed_i AFTER INSERT ON media WHEN NEW.owner_kind = 'notice'
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER media_feed_u AFTER UPDATE ON media WHEN NEW.owner_kind = 'notice' OR OLD.owner_kind = 'notice'
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER media_feed_d AFTER DELETE ON media WHEN OLD.owner_kind = 'notice'
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_feed_i AFTER INSERT ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_feed_d AFTER DELETE ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER households_feed_u AFTER UPDATE OF home_id ON households
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER homes_feed_u AFTER UPDATE OF building_id ON homes
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER buildings_feed_u AFTER UPDATE OF grid_id ON buildings
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'notices'; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER notices_feed_i;
DROP TRIGGER notices_feed_u;
DROP TRIGGER notices_feed_d;
DROP TRIGGER notice_targets_feed_i;
DROP TRIGGER notice_targets_feed_u;
DROP TRIGGER notice_targets_feed_d;
DROP TRIGGER notice_confirmations_feed_i;
DROP TRIGGER notice_confirmations_feed_u;
DROP TRIGGER notice_confirmations_feed_d;
DROP TRIGGER media_feed_i;
DROP TRIGGER media_feed_u;
DROP TRIGGER media_feed_d;
DROP TRIGGER households_feed_i;
DROP TRIGGER households_feed_d;
DROP TRIGGER households_feed_u;
DROP TRIGGER homes_feed_u;
DROP TRIGGER buildings_feed_u;
DROP TABLE change_counters;
