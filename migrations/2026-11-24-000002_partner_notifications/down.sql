DROP TRIGGER partner_certificates_changed ON partner_certificates;
DROP TRIGGER trading_partners_changed ON trading_partners;
DROP FUNCTION notify_partners_changed();
