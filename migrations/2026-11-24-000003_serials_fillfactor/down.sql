ALTER TABLE serials RESET (fillfactor);
