-- +goose Up
CREATE TABLE lostfound_posts (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    author_id     INTEGER NOT NULL REFERENCES users(id),
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    place         TEXT NOT NULL,
    happened_at   TIMESTAMP NOT NULL,
    contact       TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    removed       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX lostfound_board ON lostfound_posts (community_id, status, expires_at);

CREATE TABLE lostfound_replies (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES lostfound_posts(id),
    author_id   INTEGER NOT NULL REFERENCES users(id),
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX lostfound_replies_post ON lostfound_replies (post_id, id);

-- +goose Down
DROP TABLE lostfound_replies;
DROP TABLE lostfound_posts;
