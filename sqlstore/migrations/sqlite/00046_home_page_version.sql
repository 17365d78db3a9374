-- +goose Up
-- The resident's home page version (issue 13): the page is kept in memory
-- per session and shown again while the sum of its counters has not moved
-- (web/homecache.go). Each counter only grows, so their sum moves whenever
-- one does. The counters are rows of change_counters (migration 00036),
-- moved by triggers so that a change made by another node or another
-- process shows at the next request:
--   'household:<id>'  the household's matters (the latest three, the open count)
--   'home:<id>'       the home's alarm state and whether an incident is open
--   'resident_home'   the lost-and-found board, the matter categories and the
--                     communities (the office's phone, the name, the time zone)
--   'notices'         the feed, and a household moving home (00036)
-- Incidents move their home's counter only when they open, close or move:
-- an alarm frame that only adds to an open incident does not touch it, so
-- the ingest path gains no row to update (and on PostgreSQL no hot row).
INSERT INTO change_counters (name, version) VALUES ('resident_home', 0);

-- +goose StatementBegin
CREATE TRIGGER matters_home_page_i AFTER INSERT ON matters WHEN NEW.household_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'household:' || NEW.household_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'household:' || NEW.household_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'household:' || NEW.household_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matters_home_page_u AFTER UPDATE ON matters WHEN NEW.household_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'household:' || NEW.household_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'household:' || NEW.household_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'household:' || NEW.household_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matters_home_page_moved AFTER UPDATE OF household_id ON matters
WHEN OLD.household_id IS NOT NULL AND OLD.household_id IS NOT NEW.household_id
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'household:' || OLD.household_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'household:' || OLD.household_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'household:' || OLD.household_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matters_home_page_d AFTER DELETE ON matters WHEN OLD.household_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'household:' || OLD.household_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'household:' || OLD.household_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'household:' || OLD.household_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_home_page_i AFTER INSERT ON incidents WHEN NEW.home_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || NEW.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || NEW.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || NEW.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_home_page_u AFTER UPDATE OF status, home_id ON incidents WHEN NEW.home_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || NEW.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || NEW.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || NEW.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_home_page_moved AFTER UPDATE OF home_id ON incidents
WHEN OLD.home_id IS NOT NULL AND OLD.home_id IS NOT NEW.home_id
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || OLD.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || OLD.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || OLD.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER incidents_home_page_d AFTER DELETE ON incidents WHEN OLD.home_id IS NOT NULL
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || OLD.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || OLD.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || OLD.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER arm_states_home_page_i AFTER INSERT ON arm_states
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || NEW.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || NEW.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || NEW.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER arm_states_home_page_u AFTER UPDATE ON arm_states
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || NEW.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || NEW.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || NEW.home_id;
    INSERT INTO change_counters (name, version) SELECT 'home:' || OLD.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || OLD.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || OLD.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER arm_states_home_page_d AFTER DELETE ON arm_states
BEGIN
    INSERT INTO change_counters (name, version) SELECT 'home:' || OLD.home_id, 0 WHERE NOT EXISTS (SELECT 1 FROM change_counters WHERE name = 'home:' || OLD.home_id);
    UPDATE change_counters SET version = version + 1 WHERE name = 'home:' || OLD.home_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lostfound_posts_home_page_i AFTER INSERT ON lostfound_posts
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lostfound_posts_home_page_u AFTER UPDATE ON lostfound_posts
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER lostfound_posts_home_page_d AFTER DELETE ON lostfound_posts
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matter_categories_home_page_i AFTER INSERT ON matter_categories
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matter_categories_home_page_u AFTER UPDATE ON matter_categories
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER matter_categories_home_page_d AFTER DELETE ON matter_categories
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_home_page_i AFTER INSERT ON communities
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_home_page_u AFTER UPDATE ON communities
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER communities_home_page_d AFTER DELETE ON communities
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home'; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER matters_home_page_i;
DROP TRIGGER matters_home_page_u;
DROP TRIGGER matters_home_page_moved;
DROP TRIGGER matters_home_page_d;
DROP TRIGGER incidents_home_page_i;
DROP TRIGGER incidents_home_page_u;
DROP TRIGGER incidents_home_page_moved;
DROP TRIGGER incidents_home_page_d;
DROP TRIGGER arm_states_home_page_i;
DROP TRIGGER arm_states_home_page_u;
DROP TRIGGER arm_states_home_page_d;
DROP TRIGGER lostfound_posts_home_page_i;
DROP TRIGGER lostfound_posts_home_page_u;
DROP TRIGGER lostfound_posts_home_page_d;
DROP TRIGGER matter_categories_home_page_i;
DROP TRIGGER matter_categories_home_page_u;
DROP TRIGGER matter_categories_home_page_d;
DROP TRIGGER communities_home_page_i;
DROP TRIGGER communities_home_page_u;
DROP TRIGGER communities_home_page_d;
DELETE FROM change_counters WHERE name = 'resident_home' OR name LIKE 'household:%' OR name LIKE 'home:%';
