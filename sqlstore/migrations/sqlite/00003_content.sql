-- +goose Up
-- Notices (大事小情): news, events, notices, police alerts, good deeds and
-- reminders. The body is Markdown as written; it is rendered on read.
CREATE TABLE notices (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    category      TEXT NOT NULL,
    -- community, grids or buildings; the grids and buildings are in notice_targets.
    audience      TEXT NOT NULL DEFAULT 'community',
    publish_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP,
    pinned        BOOLEAN NOT NULL DEFAULT FALSE,
    important     BOOLEAN NOT NULL DEFAULT FALSE,
    author_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    author_name   TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX notices_feed ON notices (community_id, pinned, publish_at);

CREATE TABLE notice_targets (
    notice_id    INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    grid_id      INTEGER REFERENCES grids(id) ON DELETE CASCADE,
    building_id  INTEGER REFERENCES buildings(id) ON DELETE CASCADE
);
CREATE INDEX notice_targets_notice ON notice_targets (notice_id);

-- One confirmation per household: a resident confirms for their home.
CREATE TABLE notice_confirmations (
    notice_id     INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    household_id  INTEGER NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    user_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    confirmed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (notice_id, household_id)
);

-- Service guides (办事流程). Lists are JSON arrays.
CREATE TABLE guides (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    name          TEXT NOT NULL,
    category      TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    steps         TEXT NOT NULL DEFAULT '[]',
    documents     TEXT NOT NULL DEFAULT '[]',
    office        TEXT NOT NULL DEFAULT '',
    hours         TEXT NOT NULL DEFAULT '',
    fees          TEXT NOT NULL DEFAULT '',
    duration      TEXT NOT NULL DEFAULT '',
    contacts      TEXT NOT NULL DEFAULT '[]',
    forms         TEXT NOT NULL DEFAULT '[]',
    body          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (community_id, name)
);

-- Convenience policies (便民服务政策), shown while valid.
CREATE TABLE policies (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    title         TEXT NOT NULL,
    category      TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    eligibility   TEXT NOT NULL DEFAULT '',
    how_to_apply  TEXT NOT NULL DEFAULT '',
    documents     TEXT NOT NULL DEFAULT '[]',
    guide_ids     TEXT NOT NULL DEFAULT '[]',
    valid_from    TIMESTAMP NOT NULL,
    valid_until   TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX policies_valid ON policies (community_id, valid_from);

-- Files of notices, guides and policies, kept in the database: images the
-- Markdown shows and forms to print. owner_kind is notice, guide or policy.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    community_id  INTEGER NOT NULL REFERENCES communities(id),
    owner_kind    TEXT NOT NULL,
    owner_id      INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    data          BLOB NOT NULL,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (owner_kind, owner_id, n)
);

-- What search finds: one row per searchable thing of any kind (notice,
-- guide, policy; matters add theirs), kept in the transaction that changes
-- the thing. audience is community (everyone in it) or targets (the grids,
-- buildings and households in search_targets); visible_from and
-- visible_until bound when residents may find it.
CREATE TABLE search_docs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    ref_id         INTEGER NOT NULL,
    community_id   INTEGER NOT NULL REFERENCES communities(id),
    audience       TEXT NOT NULL DEFAULT 'community',
    visible_from   TIMESTAMP,
    visible_until  TIMESTAMP,
    title          TEXT NOT NULL,
    body_text      TEXT NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX search_docs_community ON search_docs (community_id, kind);

CREATE TABLE search_targets (
    doc_id        INTEGER NOT NULL REFERENCES search_docs(id) ON DELETE CASCADE,
    grid_id       INTEGER,
    building_id   INTEGER,
    household_id  INTEGER
);
CREATE INDEX search_targets_doc ON search_targets (doc_id);

-- The full-text index: rowid is search_docs.id, and the columns hold the
-- tokens the Go side makes (CJK bigrams and lower-cased words, separated by
-- spaces), which unicode61 splits on the spaces.
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0');

-- +goose Down
DROP TABLE search_fts;
DROP TABLE search_targets;
DROP TABLE search_docs;
DROP TABLE attachments;
DROP TABLE policies;
DROP TABLE guides;
DROP TABLE notice_confirmations;
DROP TABLE notice_targets;
DROP TABLE notices;
