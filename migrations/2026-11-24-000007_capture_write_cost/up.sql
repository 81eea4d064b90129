-- What a capture pays per row, measured (docs/ARCHITECTURE.md, "Capture performance"): for
-- the 100,000-item benchmark document the indexes were two thirds of PostgreSQL's time.
--
-- event_epcs is append-only, and written in event id order (ids are reserved per batch), so
-- a block-range index finds an event's identifiers as well as the composite primary key did,
-- at a tenth of its insert cost. Small ranges (16 pages) keep a lookup of one event short.
-- What the primary key guarded, one row per identifier and role in an event, the capture
-- already ensures: an identifier listed twice in one list is stored once (DSCSA-B-013).
ALTER TABLE event_epcs DROP CONSTRAINT event_epcs_pkey;
CREATE INDEX event_epcs_event ON event_epcs USING brin (event_id) WITH (pages_per_range = 16);

-- Events by identifier are equality look-ups only (tracing, rebuilds): a hash index costs
-- about half of the (epc_key, event_id) btree to fill, and is as fast to probe.
DROP INDEX event_epcs_key;
CREATE INDEX event_epcs_key ON event_epcs USING hash (epc_key);

-- The GTIN of a serial row comes from a parsed gs1::Gtin (14 digits, check digit verified)
-- and nothing else writes it; the regular expression was evaluated for every row stored.
ALTER TABLE serials DROP CONSTRAINT serials_gtin_check;
