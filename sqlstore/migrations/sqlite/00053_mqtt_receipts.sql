-- +goose Up
-- The receipt of the last batch of MQTT messages stored for a session at
-- the external broker (alarm/mqtt, "Acknowledgement"): the packet id and
-- content digest of each of its messages, written in the transaction
-- that stores the batch's reports, replaced by the next batch's, and
-- emptied when the ingestion is idle after their PUBACKs went out. After
-- a crash between the commit and the PUBACKs the broker sends the batch
-- again, and this row tells it from new messages. One row per session,
-- its messages as "id:digest" separated by spaces.
CREATE TABLE mqtt_receipts (
    session     TEXT PRIMARY KEY,
    messages    TEXT NOT NULL,
    stored_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE mqtt_receipts;
