DROP TABLE serial_partner_usage;
DROP TABLE serial_allocations;
DROP TABLE serial_pools;
