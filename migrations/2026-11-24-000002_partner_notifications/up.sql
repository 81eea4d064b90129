-- Servers cache who a client certificate belongs to; any change to partners or their
-- certificates (from any process: CLI, admin API, SQL) tells them to forget that cache.
CREATE FUNCTION notify_partners_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dscsa_partners_changed', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
CREATE TRIGGER trading_partners_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trading_partners
    FOR EACH STATEMENT EXECUTE FUNCTION notify_partners_changed();
CREATE TRIGGER partner_certificates_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON partner_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION notify_partners_changed();
