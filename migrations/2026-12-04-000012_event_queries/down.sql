DROP TABLE server_secrets;
DROP INDEX events_record_time;
DROP INDEX events_event_time;
CREATE INDEX events_event_time ON events (event_time);
ALTER TABLE events DROP COLUMN xact;
