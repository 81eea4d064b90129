-- Shipments out (issue 13; docs/SHIPMENTS.md): one row per DSCSA shipment this server made. The
-- transaction document (TI/TS, an EPCIS document) is kept as a sent document (`documents`,
-- direction 'sent', its bytes in `document_chunks`) for the 6-year retention; the shipping
-- event is recorded in our own history by a capture (`capture_document_id`) in the same
-- transaction as this row.
CREATE TABLE shipments (
    id                   uuid PRIMARY KEY,
    -- The document sent to the buyer (documents.direction = 'sent').
    document_id          uuid NOT NULL UNIQUE REFERENCES documents (id),
    -- Our own capture of the shipping event (documents.direction = 'received').
    capture_document_id  uuid NOT NULL REFERENCES documents (id),
    -- SBDH InstanceIdentifier: the same on every delivery attempt, so receivers can de-duplicate.
    instance_identifier  text NOT NULL UNIQUE,
    buyer_partner_id     bigint NOT NULL REFERENCES trading_partners (id),
    seller_gln           char(13) NOT NULL CHECK (seller_gln ~ '^[0-9]{13}$'),
    buyer_gln            char(13) NOT NULL CHECK (buyer_gln ~ '^[0-9]{13}$'),
    -- SGLN keys (as event identifiers are stored: '414' || gln [|| '254' || extension]).
    ship_from            text NOT NULL,
    ship_to              text NOT NULL,
    ship_time            timestamptz NOT NULL,
    purpose              text NOT NULL CHECK (purpose IN ('sale', 'return', 'quarantine')),
    status               text NOT NULL DEFAULT 'generated'
                         CHECK (status IN ('generated', 'sending', 'delivered', 'failed', 'dead',
                                           'cancelled')),
    -- The shipped top-level identifiers (keys) and business transactions, as shipped.
    top_level            text[] NOT NULL,
    biz_transactions     jsonb NOT NULL DEFAULT '[]',
    -- What the document covers: serials in the shipped hierarchy (items and containers), lots.
    serial_count         integer NOT NULL CHECK (serial_count >= 0),
    item_count           integer NOT NULL CHECK (item_count >= 0),
    lot_count            integer NOT NULL CHECK (lot_count >= 0),
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_created_at ON shipments (created_at, id);
CREATE INDEX shipments_buyer ON shipments (buyer_partner_id, created_at);
