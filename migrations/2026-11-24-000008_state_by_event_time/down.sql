-- Back to migration 4's view: containers compared by event id (capture order).
DROP INDEX events_aggregation_time;
DROP VIEW serial_state;

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
