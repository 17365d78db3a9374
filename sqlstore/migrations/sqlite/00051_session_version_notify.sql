-- +goose Up
-- The sessions' version (issue 13): the web server keeps a resolved
-- session in memory while this number has not moved. Everything the
-- session's actor is read from moves it: the session (signed out,
-- revoked), its account (disabled, renamed), the account's grants (a role
-- given or taken) and its person (the household a resident belongs to).
-- It is a row of change_counters, so a change made by another process on
-- the same file (the command line) shows at the next request.
-- (On PostgreSQL this migration also announces every counter's move;
-- SQLite has one writing process that needs no announcement.)
INSERT INTO change_counters (name, version) VALUES ('sessions', 0);

-- +goose StatementBegin
CREATE TRIGGER sessions_sessions_u AFTER UPDATE ON sessions
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER sessions_sessions_d AFTER DELETE ON sessions
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_sessions_u AFTER UPDATE ON users
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_sessions_d AFTER DELETE ON users
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_sessions_i AFTER INSERT ON grants
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_sessions_u AFTER UPDATE ON grants
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER grants_sessions_d AFTER DELETE ON grants
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER people_sessions_u AFTER UPDATE OF household_id ON people
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER people_sessions_d AFTER DELETE ON people
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'sessions'; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER sessions_sessions_u;
DROP TRIGGER sessions_sessions_d;
DROP TRIGGER users_sessions_u;
DROP TRIGGER users_sessions_d;
DROP TRIGGER grants_sessions_i;
DROP TRIGGER grants_sessions_u;
DROP TRIGGER grants_sessions_d;
DROP TRIGGER people_sessions_u;
DROP TRIGGER people_sessions_d;
DELETE FROM change_counters WHERE name = 'sessions';
