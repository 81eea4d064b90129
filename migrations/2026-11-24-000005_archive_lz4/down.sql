ALTER TABLE document_chunks ALTER COLUMN data SET COMPRESSION default;
