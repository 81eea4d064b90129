ALTER TABLE events DROP COLUMN retracted_by;
