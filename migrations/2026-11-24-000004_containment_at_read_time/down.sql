ALTER TABLE serials SET (fillfactor = 70);
ALTER TABLE serials ADD COLUMN top_id bigint;
-- Recompute the outermost container of everything inside one (before the function goes).
UPDATE serials s SET top_id = (
    SELECT a.id FROM serial_ancestors(s.parent_id) a ORDER BY a.depth DESC LIMIT 1)
 WHERE s.parent_id IS NOT NULL;
CREATE INDEX serials_top ON serials (top_id) WHERE top_id IS NOT NULL;
DROP VIEW serial_state;
DROP FUNCTION serial_ancestors(bigint);
