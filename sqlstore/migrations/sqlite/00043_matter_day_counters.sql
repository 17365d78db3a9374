-- +goose Up
-- The last tracking number given on each day (SQ-<day>-<n>), taken in the
-- submitting transaction by one upsert of the day's row. Counting the
-- day's matters instead let two nodes submitting at once take the same
-- number (24 of 191 refused at city scale) and read every matter of the
-- day each time. The row lock orders submissions on one day; a matter
-- that is rolled back leaves a gap, which is harmless.
CREATE TABLE matter_day_counters (
    day   TEXT PRIMARY KEY,
    last  BIGINT NOT NULL
);
-- The days numbered so far go on after their highest number.
INSERT INTO matter_day_counters (day, last)
SELECT substr(tracking, 4, 8), MAX(CAST(substr(tracking, 13) AS BIGINT)) FROM matters
WHERE tracking LIKE 'SQ-________-%' GROUP BY substr(tracking, 4, 8);

-- +goose Down
DROP TABLE matter_day_counters;
