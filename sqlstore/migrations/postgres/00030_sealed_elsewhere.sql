-- +goose Up
-- The columns sealed with the personal-data key by the capabilities that
-- came after the key rotation: which key sealed each row, so that
-- "shequ key rotate" reseals them too ('' is unknown: resealed).
ALTER TABLE access_keys ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE access_credentials ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE cameras ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pii_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE devices DROP COLUMN pii_key;
ALTER TABLE cameras DROP COLUMN pii_key;
ALTER TABLE access_credentials DROP COLUMN pii_key;
ALTER TABLE access_keys DROP COLUMN pii_key;
