-- An event declared erroneous by a later error declaration (standards.md §1.8): the original
-- stays (never deleted), marked with the id of the declaring event; state is rebuilt from the
-- events that were not retracted.
ALTER TABLE events ADD COLUMN retracted_by bigint;
