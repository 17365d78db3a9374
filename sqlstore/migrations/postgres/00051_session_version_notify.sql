-- +goose Up
-- Kept pages without a round trip (issue 13).
--
-- 1. The sessions' version: the web server keeps a resolved session in
--    memory while this number has not moved. Everything the session's
--    actor is read from moves it: the session (signed out, revoked), its
--    account (disabled, renamed), the account's grants (a role given or
--    taken) and its person (the household a resident belongs to). It is a
--    row of change_counters, so a change made on any node shows on every
--    node.
--
-- 2. Every move of a change counter is announced on the channel
--    shequ_counters with the counter's name, at commit (NOTIFY is
--    transactional). Each node mirrors the counters in memory from these
--    notifications (sqlstore/countermirror.go), so a kept page costs no
--    query while nothing it shows has changed. PostgreSQL delivers one
--    notification per name and transaction however many rows moved it.
INSERT INTO change_counters (name, version) VALUES ('sessions', 0);

-- +goose StatementBegin
CREATE FUNCTION sessions_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'sessions';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- A new session is no one's cached session: only updates and deletes.
CREATE TRIGGER sessions_sessions AFTER UPDATE OR DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
CREATE TRIGGER users_sessions AFTER UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
CREATE TRIGGER grants_sessions AFTER INSERT OR UPDATE OR DELETE ON grants FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();
CREATE TRIGGER people_sessions AFTER UPDATE OF household_id OR DELETE ON people FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed();

-- +goose StatementBegin
CREATE FUNCTION change_counter_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('shequ_counters', NEW.name);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER change_counters_notify AFTER INSERT OR UPDATE ON change_counters FOR EACH ROW EXECUTE FUNCTION change_counter_notify();

-- +goose Down
DROP TRIGGER change_counters_notify ON change_counters;
DROP FUNCTION change_counter_notify;
DROP TRIGGER sessions_sessions ON sessions;
DROP TRIGGER users_sessions ON users;
DROP TRIGGER grants_sessions ON grants;
DROP TRIGGER people_sessions ON people;
DROP FUNCTION sessions_changed;
DELETE FROM change_counters WHERE name = 'sessions';
