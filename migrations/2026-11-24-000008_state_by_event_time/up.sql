-- State follows event time, not capture order (issue 10 §4; docs/ARCHITECTURE.md, "Event
-- time"). A serial's own state is that of the event that last changed it (`last_event_id`);
-- inside containers it takes the state of the container whose event is the newest by
-- (event time, event id) when that is newer than its own. Migration 4 compared event ids,
-- which follow capture order: a document listing its packing after the shipping of the
-- pallet (older times, higher ids) left the items "packed" inside a shipped pallet.
-- The event time is read through `last_event_id` (events' primary key): no column is added to
-- `serials`, so what a capture writes is unchanged.
DROP VIEW serial_state;

CREATE VIEW serial_state AS
SELECT s.id, s.epc_key, s.kind, s.gtin, s.serial_number, s.lot, s.expiry, s.parent_id,
       top.id AS top_id,
       coalesce(inh.status, s.status) AS status,
       coalesce(inh.disposition, s.disposition) AS disposition,
       coalesce(inh.owner, s.owner) AS owner,
       coalesce(inh.location, s.location) AS location,
       coalesce(inh.last_event_id, s.last_event_id) AS last_event_id,
       s.commissioned_at, s.commission_count, s.suspect, s.recalled, s.illegitimate,
       s.duplicate, s.updated_at,
       coalesce(inh.event_time, se.event_time) AS last_event_time
  FROM serials s
  LEFT JOIN events se ON se.id = s.last_event_id
  LEFT JOIN LATERAL (
        SELECT a.id FROM serial_ancestors(s.parent_id) a ORDER BY a.depth DESC LIMIT 1
       ) top ON true
  LEFT JOIN LATERAL (
        SELECT c.status, c.disposition, c.owner, c.location, c.last_event_id, ce.event_time
          FROM serial_ancestors(s.parent_id) a JOIN serials c ON c.id = a.id
          JOIN events ce ON ce.id = c.last_event_id
         WHERE s.status NOT IN (5, 6, 7, 8) AND c.status <> 8
           AND (ce.event_time, ce.id) > (se.event_time, se.id)
         ORDER BY ce.event_time DESC, ce.id DESC LIMIT 1
       ) inh ON true;

-- An event on a container is older than the state of what left it (or came into it) later: a
-- serial unpacked after the event took its container's state as it was then. The capture
-- finds such containers through the aggregation events (packing, unpacking) later than the
-- events it stores, a range scan of this small partial index (an in-order document finds none).
CREATE INDEX events_aggregation_time ON events (event_time)
 WHERE event_type = 2 AND action IN ('ADD', 'DELETE');
