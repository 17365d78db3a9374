-- +goose Up
-- Sign-in attempts by username (whether or not it exists) and client
-- address, for auth.Admit: failures in a row and the last good sign-in per
-- address; the row of address '*' holds the account-wide budget of
-- guesses. users.failed_logins, last_failed_at and locked_until, the hard
-- lock this replaces, are no longer read.
CREATE TABLE login_throttle (
    username     TEXT NOT NULL,
    address      TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    tokens       DOUBLE PRECISION NOT NULL DEFAULT 0,
    at           TIMESTAMPTZ,
    succeeded_at TIMESTAMPTZ,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_throttle_at ON login_throttle (at);

-- +goose Down
DROP TABLE login_throttle;
