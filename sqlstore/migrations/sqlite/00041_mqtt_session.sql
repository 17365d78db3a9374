-- +goose Up
-- The deployment's MQTT session at the external broker: the client id
-- under which the one node subscribing at a time (the holder of the
-- subscriber's lease) connects, so that the messages the broker keeps for
-- the session pass from one node to the next. One row, written by the
-- first node that subscribes (shequ-<its node name>, the id a single node
-- used before).
CREATE TABLE mqtt_session (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    client_id   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE mqtt_session;
