-- Containment is resolved at read time (docs/ARCHITECTURE.md, "Per-serial state"): a capture
-- writes a child's parent_id when it is packed, and what later happens to a container is
-- written on the container only. `top_id`, which made packing a case into a pallet rewrite
-- every item in the case, goes; `serial_state` gives the effective state instead.
DROP INDEX serials_top;
ALTER TABLE serials DROP COLUMN top_id;

-- Most serials are now written once (commissioned, packed and shipped in one document give one
-- row version); containers still change in place. Less free space per page than migration 3.
ALTER TABLE serials SET (fillfactor = 90);

-- The containers of a serial, innermost first (depth 1 = its parent). Depth-limited, so that a
-- corrupt cycle cannot loop.
CREATE FUNCTION serial_ancestors(start bigint)
RETURNS TABLE (id bigint, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT s.id, s.parent_id, 1 FROM serials s WHERE s.id = start
        UNION ALL
        SELECT s.id, s.parent_id, up.depth + 1 FROM serials s JOIN up ON s.id = up.parent_id
         WHERE up.depth < 32
    )
    SELECT id, depth FROM up
$$;

-- The effective state of every serial: inside containers, a serial has the state of the
-- container with the newest event, when that is newer than its own (shipping a pallet ships
-- what is in it); a serial whose own status is dispensed, decommissioned, destroyed or
-- unknown keeps it. `top_id` is the outermost container.
CREATE VIEW serial_state AS
SELECT s.id, s.epc_key, s.kind, s.gtin, s.serial_number, s.lot, s.expiry, s.parent_id,
       top.id AS top_id,
       coalesce(inh.status, s.status) AS status,
       coalesce(inh.disposition, s.disposition) AS disposition,
       coalesce(inh.owner, s.owner) AS owner,
       coalesce(inh.location, s.location) AS location,
       greatest(inh.last_event_id, s.last_event_id) AS last_event_id,
       s.commissioned_at, s.commission_count, s.suspect, s.recalled, s.illegitimate,
       s.duplicate, s.updated_at
  FROM serials s
  LEFT JOIN LATERAL (
        SELECT a.id FROM serial_ancestors(s.parent_id) a ORDER BY a.depth DESC LIMIT 1
       ) top ON true
  LEFT JOIN LATERAL (
        SELECT c.status, c.disposition, c.owner, c.location, c.last_event_id
          FROM serial_ancestors(s.parent_id) a JOIN serials c ON c.id = a.id
         WHERE s.status NOT IN (5, 6, 7, 8) AND c.status <> 8
           AND c.last_event_id > s.last_event_id
         ORDER BY c.last_event_id DESC LIMIT 1
       ) inh ON true;
