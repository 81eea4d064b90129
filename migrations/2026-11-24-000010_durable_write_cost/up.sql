-- What a capture costs on a durable database (issue 10 §7; docs/ARCHITECTURE.md, "Capture
-- performance"): with fsync and full-page writes on, every index entry a capture adds is WAL
-- written to disk before the commit returns.
--
-- serials_gtin_lot took an entry for every serial row stored, and one query read it: whether
-- any serial of a GTIN is stored (verification of an unknown serial, checkConnectivity). That
-- question gets a table of its own, one row per GTIN, kept by a statement-level trigger from
-- the rows each INSERT or COPY adds (a few rows per statement instead of an entry per serial).
-- The serials of a lot (recall) are found from the lot's commissioning events instead
-- (event_ilmd_lot, then event_epcs, then serials by epc_key).
--
-- No unique constraint: two captures that store the first serials of a GTIN at the same time
-- may both add it, which is harmless, and neither waits for the other. A GTIN stays listed
-- when its serials are removed again (a retracted commissioning): it was served here.
CREATE TABLE serial_gtins (
    gtin char(14) NOT NULL
);
CREATE INDEX serial_gtins_gtin ON serial_gtins (gtin);
INSERT INTO serial_gtins SELECT DISTINCT gtin FROM serials WHERE gtin IS NOT NULL;

CREATE FUNCTION serial_gtins_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO serial_gtins (gtin)
    SELECT DISTINCT a.gtin FROM added a
     WHERE a.gtin IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM serial_gtins g WHERE g.gtin = a.gtin);
    RETURN NULL;
END;
$$;
CREATE TRIGGER serials_add_gtins AFTER INSERT ON serials
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION serial_gtins_add();

DROP INDEX serials_gtin_lot;

-- serials_parent took an entry for every packed serial. What it answered, the serials inside a
-- container (unpacking all, passing a terminal status down, rebuilding after an error
-- declaration), the event history answers as well: a child gets its parent_id only from an
-- AggregationEvent that names it with that parent, so the container's events (hash index on
-- event_epcs.epc_key, then the BRIN on event_id) give the candidates, and parent_id says which
-- are inside it now (store::capture::children_join). Those look-ups are rare; packing is not.
-- With no index on parent_id, an update of a serial's state is a HOT update whenever its page
-- has room (only id, epc_key and the flags are indexed).
DROP INDEX serials_parent;
