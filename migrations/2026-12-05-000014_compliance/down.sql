DROP TABLE trace_requests;
ALTER TABLE documents DROP COLUMN transaction_statement;
