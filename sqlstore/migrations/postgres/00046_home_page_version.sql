-- +goose Up
-- The resident's home page version (issue 13): the page is kept in memory
-- per session and shown again while the sum of its counters has not moved
-- (web/homecache.go). Each counter only grows, so their sum moves whenever
-- one does. The counters are rows of change_counters (migration 00036),
-- moved by triggers so that a change made by another node shows at the
-- next request:
--   'household:<id>'  the household's matters (the latest three, the open count)
--   'home:<id>'       the home's alarm state and whether an incident is open
--   'resident_home'   the lost-and-found board, the matter categories and the
--                     communities (the office's phone, the name, the time zone)
--   'notices'         the feed, and a household moving home (00036)
-- Incidents move their home's counter only when they open, close or move:
-- an alarm frame that only adds to an open incident does not touch it, so
-- the ingest path gains no row to lock. The counters of a home and of a
-- household are rows of their own, so two homes never wait for each other.
INSERT INTO change_counters (name, version) VALUES ('resident_home', 0);

-- +goose StatementBegin
CREATE FUNCTION bump_change_counter(counter TEXT) RETURNS void AS $$
    INSERT INTO change_counters (name, version) VALUES (counter, 1)
    ON CONFLICT (name) DO UPDATE SET version = change_counters.version + 1;
$$ LANGUAGE sql;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION matters_home_page_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.household_id IS NOT NULL THEN
        PERFORM bump_change_counter('household:' || OLD.household_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.household_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.household_id IS DISTINCT FROM OLD.household_id) THEN
        PERFORM bump_change_counter('household:' || NEW.household_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION home_page_home_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.home_id IS NOT NULL THEN
        PERFORM bump_change_counter('home:' || OLD.home_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.home_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.home_id IS DISTINCT FROM OLD.home_id) THEN
        PERFORM bump_change_counter('home:' || NEW.home_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION home_page_shared_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'resident_home';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER matters_home_page AFTER INSERT OR UPDATE OR DELETE ON matters FOR EACH ROW EXECUTE FUNCTION matters_home_page_changed();
CREATE TRIGGER incidents_home_page AFTER INSERT OR UPDATE OF status, home_id OR DELETE ON incidents FOR EACH ROW EXECUTE FUNCTION home_page_home_changed();
CREATE TRIGGER arm_states_home_page AFTER INSERT OR UPDATE OR DELETE ON arm_states FOR EACH ROW EXECUTE FUNCTION home_page_home_changed();
CREATE TRIGGER lostfound_posts_home_page AFTER INSERT OR UPDATE OR DELETE ON lostfound_posts FOR EACH STATEMENT EXECUTE FUNCTION home_page_shared_changed();
CREATE TRIGGER matter_categories_home_page AFTER INSERT OR UPDATE OR DELETE ON matter_categories FOR EACH STATEMENT EXECUTE FUNCTION home_page_shared_changed();
CREATE TRIGGER communities_home_page AFTER INSERT OR UPDATE OR DELETE ON communities FOR EACH STATEMENT EXECUTE FUNCTION home_page_shared_changed();

-- +goose Down
DROP TRIGGER matters_home_page ON matters;
DROP TRIGGER incidents_home_page ON incidents;
DROP TRIGGER arm_states_home_page ON arm_states;
DROP TRIGGER lostfound_posts_home_page ON lostfound_posts;
DROP TRIGGER matter_categories_home_page ON matter_categories;
DROP TRIGGER communities_home_page ON communities;
DROP FUNCTION matters_home_page_changed();
DROP FUNCTION home_page_home_changed();
DROP FUNCTION home_page_shared_changed();
DROP FUNCTION bump_change_counter(TEXT);
DELETE FROM change_counters WHERE name = 'resident_home' OR name LIKE 'household:%' OR name LIKE 'home:%';
