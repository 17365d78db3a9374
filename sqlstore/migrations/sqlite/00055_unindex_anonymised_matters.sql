-- +goose Up
-- Anonymising a matter (retention, erasure) now removes its search entry
-- in the same transaction; before, the entry kept the text and address
-- the matter no longer had, and staff found it by them. The entries of
-- the matters anonymised before go here.
DELETE FROM search_fts WHERE rowid IN (SELECT d.id FROM search_docs d JOIN matters m ON m.id = d.ref_id
    WHERE d.kind = 'matter' AND m.anonymised_at IS NOT NULL);
DELETE FROM search_targets WHERE doc_id IN (SELECT d.id FROM search_docs d JOIN matters m ON m.id = d.ref_id
    WHERE d.kind = 'matter' AND m.anonymised_at IS NOT NULL);
DELETE FROM search_docs WHERE kind = 'matter' AND ref_id IN (SELECT id FROM matters WHERE anonymised_at IS NOT NULL);

-- +goose Down
-- What was removed said what the matters no longer say: nothing to restore.
SELECT 1;
