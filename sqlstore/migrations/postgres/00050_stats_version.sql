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

-- +goose StatementBegin
CREATE FUNCTION stats_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'stats';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- Once per statement, not per row: a bulk insert moves it once.
CREATE TRIGGER associations_stats AFTER INSERT OR UPDATE OR DELETE ON associations FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER assoc_cases_stats AFTER INSERT OR UPDATE OR DELETE ON assoc_cases FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER case_attendees_stats AFTER INSERT OR UPDATE OR DELETE ON case_attendees FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER case_rollup_stats AFTER INSERT OR UPDATE OR DELETE ON case_rollup FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER case_served_stats AFTER INSERT OR UPDATE OR DELETE ON case_served FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER mediations_stats AFTER INSERT OR UPDATE OR DELETE ON mediations FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER ledger_types_stats AFTER INSERT OR UPDATE OR DELETE ON ledger_types FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER ledger_entries_stats AFTER INSERT OR UPDATE OR DELETE ON ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER ledger_values_stats AFTER INSERT OR UPDATE OR DELETE ON ledger_values FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER ledger_followups_stats AFTER INSERT OR UPDATE OR DELETE ON ledger_followups FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER people_stats AFTER INSERT OR UPDATE OR DELETE ON people FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER assistance_policies_stats AFTER INSERT OR UPDATE OR DELETE ON assistance_policies FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();
CREATE TRIGGER assistance_applications_stats AFTER INSERT OR UPDATE OR DELETE ON assistance_applications FOR EACH STATEMENT EXECUTE FUNCTION stats_changed();

-- +goose Down
DROP TRIGGER associations_stats ON associations;
DROP TRIGGER assoc_cases_stats ON assoc_cases;
DROP TRIGGER case_attendees_stats ON case_attendees;
DROP TRIGGER case_rollup_stats ON case_rollup;
DROP TRIGGER case_served_stats ON case_served;
DROP TRIGGER mediations_stats ON mediations;
DROP TRIGGER ledger_types_stats ON ledger_types;
DROP TRIGGER ledger_entries_stats ON ledger_entries;
DROP TRIGGER ledger_values_stats ON ledger_values;
DROP TRIGGER ledger_followups_stats ON ledger_followups;
DROP TRIGGER people_stats ON people;
DROP TRIGGER assistance_policies_stats ON assistance_policies;
DROP TRIGGER assistance_applications_stats ON assistance_applications;
DROP FUNCTION stats_changed;
DELETE FROM change_counters WHERE name = 'stats';
