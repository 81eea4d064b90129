-- Reading events back (the query interface, export, tracing, shipments) loads the identifier
-- rows of chosen events. The block-range index of migration 7 answers that by scanning every
-- range summary and rechecking whole ranges: 2 ms for a serial's two events on a database of
-- 3.2 million memberships, growing with the table, and far worse for a page of 1,000 events
-- ordered by time across documents (export ran at 63,000 references/s). A btree on the event
-- id alone is filled in increasing key order (ids are reserved per batch), so it is the
-- cheapest btree there is to maintain; benches/query_load.rs and capture_load.rs measure both
-- sides (docs/QUERY.md, "Performance").
CREATE INDEX event_epcs_event_id ON event_epcs (event_id);
DROP INDEX event_epcs_event;
