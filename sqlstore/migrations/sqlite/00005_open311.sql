-- +goose Up
-- Open311 GeoReport v2: the API keys clients file requests with, one
-- community each; only a hash of the secret is kept.
CREATE TABLE open311_keys (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    last_used_at  TIMESTAMP
);
CREATE INDEX open311_keys_community ON open311_keys (community_id);

-- What an Open311 request brings beyond its matter: the key it came with,
-- the building it names (address_id), the media URL, and the contact
-- details the client sent, sealed.
CREATE TABLE open311_requests (
    matter_id    INTEGER PRIMARY KEY REFERENCES matters(id),
    key_id       INTEGER NOT NULL REFERENCES open311_keys(id),
    building_id  INTEGER REFERENCES buildings(id) ON DELETE SET NULL,
    media_url    TEXT NOT NULL DEFAULT '',
    contact      TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE open311_requests;
DROP TABLE open311_keys;
