ALTER TABLE serials ADD CONSTRAINT serials_gtin_check CHECK (gtin ~ '^[0-9]{14}$');
DROP INDEX event_epcs_key;
CREATE INDEX event_epcs_key ON event_epcs (epc_key, event_id);
DROP INDEX event_epcs_event;
ALTER TABLE event_epcs ADD PRIMARY KEY (event_id, role, epc_key);
