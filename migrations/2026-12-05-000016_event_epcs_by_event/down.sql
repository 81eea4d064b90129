CREATE INDEX event_epcs_event ON event_epcs USING brin (event_id) WITH (pages_per_range = 16);
DROP INDEX event_epcs_event_id;
