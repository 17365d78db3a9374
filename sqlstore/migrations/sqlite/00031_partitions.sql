-- +goose Up
-- PostgreSQL partitions its high-volume tables by month here (see the
-- postgres migration of the same number). SQLite serves one community on
-- one box: its tables stay plain, and retention deletes row by row.
SELECT 1;

-- +goose Down
SELECT 1;
