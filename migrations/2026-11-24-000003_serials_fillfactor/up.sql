-- Free space in every page of serials, so that state updates that change no indexed column
-- (shipping, receiving: status, disposition, owner, location, last event) are HOT updates:
-- the new row version stays in its page and no index is written.
ALTER TABLE serials SET (fillfactor = 70);
