-- Event queries (issue 12, docs/QUERY.md).
--
-- Pages of a query continue after the (time, id) of the last event of the previous page
-- (keyset, never an offset) and see only the events the first page's snapshot saw, so a
-- capture between two pages neither shifts nor duplicates events. `xact` is the transaction
-- that stored the event (what pg_visible_in_snapshot needs); rows stored before this
-- migration have none and are visible to every snapshot. Adding the default separately keeps
-- the ALTER from rewriting the table.
ALTER TABLE events ADD COLUMN xact bigint;
ALTER TABLE events ALTER COLUMN xact SET DEFAULT (pg_current_xact_id()::text::bigint);

-- Keyset orders: by event time (the index it replaces had no id) and by record time.
DROP INDEX events_event_time;
CREATE INDEX events_event_time ON events (event_time, id);
CREATE INDEX events_record_time ON events (record_time, id);

-- Secrets the server makes for itself, shared by every server process on this database (the
-- key that signs page tokens). Never exported, never logged.
CREATE TABLE server_secrets (
    name        text PRIMARY KEY,
    secret      bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
