-- +goose Up
-- The associations' statistics' version (issue 13): the dashboard keeps
-- its figures per community, period, filter and reader in memory, and
-- uses them again only while this number has not moved (sqlstore/
-- stats_cache.go). Every table the figures are read from moves it: the
-- associations, the cases with their attendees and rollup, mediations,
-- the ledgers (placements are ledger follow-ups; eligibility reads
-- entries and values), residents, and the assistance policies with their
-- applications. A row in the database, not a number in one process, so
-- that a write on any node, or behind the store's back, shows at the
-- next read on every node.
INSERT INTO change_counters (name, version) VALUES ('stats', 0);

-- SQLite has row triggers only; its writes are one at a time anyway.
-- +goose StatementBegin
CREATE TRIGGER associations_stats_i AFTER INSERT ON associations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER associations_stats_u AFTER UPDATE ON associations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER associations_stats_d AFTER DELETE ON associations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assoc_cases_stats_i AFTER INSERT ON assoc_cases
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assoc_cases_stats_u AFTER UPDATE ON assoc_cases
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assoc_cases_stats_d AFTER DELETE ON assoc_cases
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_attendees_stats_i AFTER INSERT ON case_attendees
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_attendees_stats_u AFTER UPDATE ON case_attendees
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_attendees_stats_d AFTER DELETE ON case_attendees
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_rollup_stats_i AFTER INSERT ON case_rollup
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_rollup_stats_u AFTER UPDATE ON case_rollup
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_rollup_stats_d AFTER DELETE ON case_rollup
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_served_stats_i AFTER INSERT ON case_served
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_served_stats_u AFTER UPDATE ON case_served
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER case_served_stats_d AFTER DELETE ON case_served
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER mediations_stats_i AFTER INSERT ON mediations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER mediations_stats_u AFTER UPDATE ON mediations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER mediations_stats_d AFTER DELETE ON mediations
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_types_stats_i AFTER INSERT ON ledger_types
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_types_stats_u AFTER UPDATE ON ledger_types
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_types_stats_d AFTER DELETE ON ledger_types
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_stats_i AFTER INSERT ON ledger_entries
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_stats_u AFTER UPDATE ON ledger_entries
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_stats_d AFTER DELETE ON ledger_entries
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_values_stats_i AFTER INSERT ON ledger_values
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_values_stats_u AFTER UPDATE ON ledger_values
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_values_stats_d AFTER DELETE ON ledger_values
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_followups_stats_i AFTER INSERT ON ledger_followups
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_followups_stats_u AFTER UPDATE ON ledger_followups
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_followups_stats_d AFTER DELETE ON ledger_followups
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER people_stats_i AFTER INSERT ON people
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER people_stats_u AFTER UPDATE ON people
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER people_stats_d AFTER DELETE ON people
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_policies_stats_i AFTER INSERT ON assistance_policies
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_policies_stats_u AFTER UPDATE ON assistance_policies
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_policies_stats_d AFTER DELETE ON assistance_policies
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_applications_stats_i AFTER INSERT ON assistance_applications
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_applications_stats_u AFTER UPDATE ON assistance_applications
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER assistance_applications_stats_d AFTER DELETE ON assistance_applications
BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'stats'; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER associations_stats_i;
DROP TRIGGER associations_stats_u;
DROP TRIGGER associations_stats_d;
DROP TRIGGER assoc_cases_stats_i;
DROP TRIGGER assoc_cases_stats_u;
DROP TRIGGER assoc_cases_stats_d;
DROP TRIGGER case_attendees_stats_i;
DROP TRIGGER case_attendees_stats_u;
DROP TRIGGER case_attendees_stats_d;
DROP TRIGGER case_rollup_stats_i;
DROP TRIGGER case_rollup_stats_u;
DROP TRIGGER case_rollup_stats_d;
DROP TRIGGER case_served_stats_i;
DROP TRIGGER case_served_stats_u;
DROP TRIGGER case_served_stats_d;
DROP TRIGGER mediations_stats_i;
DROP TRIGGER mediations_stats_u;
DROP TRIGGER mediations_stats_d;
DROP TRIGGER ledger_types_stats_i;
DROP TRIGGER ledger_types_stats_u;
DROP TRIGGER ledger_types_stats_d;
DROP TRIGGER ledger_entries_stats_i;
DROP TRIGGER ledger_entries_stats_u;
DROP TRIGGER ledger_entries_stats_d;
DROP TRIGGER ledger_values_stats_i;
DROP TRIGGER ledger_values_stats_u;
DROP TRIGGER ledger_values_stats_d;
DROP TRIGGER ledger_followups_stats_i;
DROP TRIGGER ledger_followups_stats_u;
DROP TRIGGER ledger_followups_stats_d;
DROP TRIGGER people_stats_i;
DROP TRIGGER people_stats_u;
DROP TRIGGER people_stats_d;
DROP TRIGGER assistance_policies_stats_i;
DROP TRIGGER assistance_policies_stats_u;
DROP TRIGGER assistance_policies_stats_d;
DROP TRIGGER assistance_applications_stats_i;
DROP TRIGGER assistance_applications_stats_u;
DROP TRIGGER assistance_applications_stats_d;
DELETE FROM change_counters WHERE name = 'stats';
