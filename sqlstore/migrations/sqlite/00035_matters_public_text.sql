-- +goose Up
-- The texts of a matter as the public Open311 feed shows them, scrubbed
-- of phone, ID numbers and e-mail addresses (open311.Scrub) once, when
-- they are written, instead of on every read of the feed. NULL is "not
-- scrubbed yet": the rows already there (filled by the store right after
-- this migration, in Go, where Scrub is) and rows written by an older
-- build; the feed scrubs those as it reads them.
ALTER TABLE matters ADD COLUMN public_description TEXT;
ALTER TABLE matters ADD COLUMN public_note TEXT;
ALTER TABLE matters ADD COLUMN public_address TEXT;
CREATE INDEX matters_unscrubbed ON matters (id) WHERE public_description IS NULL OR public_note IS NULL OR public_address IS NULL;

-- +goose Down
DROP INDEX matters_unscrubbed;
ALTER TABLE matters DROP COLUMN public_address;
ALTER TABLE matters DROP COLUMN public_note;
ALTER TABLE matters DROP COLUMN public_description;
