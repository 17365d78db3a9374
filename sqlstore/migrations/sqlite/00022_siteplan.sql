-- +goose Up
-- The site plan's outlines: a building's footprint or a grid's boundary,
-- as a ring of [longitude, latitude] pairs (GeoJSON's order), imported
-- from GeoJSON. One outline per building or grid; a new import replaces it.
CREATE TABLE site_outlines (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id),
    kind         TEXT NOT NULL CHECK (kind IN ('building', 'grid')),
    ref_id       INTEGER NOT NULL,
    ring         TEXT NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (kind, ref_id)
);
CREATE INDEX site_outlines_community ON site_outlines (community_id);

-- +goose Down
DROP TABLE site_outlines;
