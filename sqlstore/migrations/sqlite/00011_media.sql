-- +goose Up
-- One media store: a row per photo or file, its bytes outside the database
-- in a Blobs driver (the data folder or S3) under their SHA-256. The rows
-- of photos and attachments are copied here, photos keeping their ids
-- (their URLs carry them); their bytes stay where they were, named by
-- legacy_table and legacy_id, until the store moves them out at start
-- (Store.MoveMediaOut), fills in sha256 and deletes the old row. A later
-- migration drops the emptied tables.
CREATE TABLE media (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL,
    owner_kind    TEXT NOT NULL,
    owner_id      INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    created_by    INTEGER,
    created_at    TIMESTAMP NOT NULL,
    legacy_table  TEXT,
    legacy_id     INTEGER,
    UNIQUE (owner_kind, owner_id, n)
);
CREATE INDEX media_sha256 ON media (sha256);
CREATE INDEX media_legacy ON media (legacy_table, legacy_id) WHERE legacy_table IS NOT NULL;

-- Bytes that may no longer be wanted: their last row was deleted, or an
-- upload was refused after its bytes were put. The sweep removes them
-- once no row names them and they were not put again since.
CREATE TABLE media_gone (
    sha256  TEXT NOT NULL,
    at      TIMESTAMP NOT NULL
);
CREATE INDEX media_gone_at ON media_gone (at);

INSERT INTO media (id, community_id, owner_kind, owner_id, n, kind, content_type, size, sha256, created_by, created_at, legacy_table, legacy_id)
SELECT id, community_id, owner, owner_id, ROW_NUMBER() OVER (PARTITION BY owner, owner_id ORDER BY id), 'photo', content_type, LENGTH(CAST(data AS BLOB)),
       '', uploaded_by, created_at, 'photos', id
FROM photos ORDER BY id;

INSERT INTO media (community_id, owner_kind, owner_id, n, kind, name, content_type, size, sha256, created_by, created_at, legacy_table, legacy_id)
SELECT community_id, owner_kind, owner_id, n, 'attachment', name, content_type, LENGTH(CAST(data AS BLOB)), '', created_by, created_at, 'attachments', id
FROM attachments ORDER BY id;

-- +goose Down
-- Bytes already moved out are not put back.
DROP TABLE media_gone;
DROP TABLE media;
