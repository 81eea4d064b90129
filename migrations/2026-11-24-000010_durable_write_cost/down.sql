CREATE INDEX serials_parent ON serials (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX serials_gtin_lot ON serials (gtin, lot) WHERE gtin IS NOT NULL;
DROP TRIGGER serials_add_gtins ON serials;
DROP FUNCTION serial_gtins_add();
DROP TABLE serial_gtins;
