-- Core schema of dscsa-exchange: documents, events, per-serial state, master data, partners,
-- verification log and audit log. See docs/ARCHITECTURE.md ("Schema") for the reasoning, the
-- identifier keys and how this grows to a billion serials.
--
-- Identifier keys (`epc_key` columns): GS1 identifiers are stored as their GS1 element string
-- without parentheses, e.g. SGTIN '01' || gtin14 || '21' || serial, SSCC '00' || sscc18,
-- SGLN '414' || gln13 [|| '254' || extension], LGTIN '01' || gtin14 || '10' || lot. That key does
-- not depend on the GS1 company prefix length, and it is the same whether a partner sent an EPC
-- URN or a Digital Link. Any other URI (opaque ids allowed by EPCIS) is stored as given; URIs
-- start with a letter and element strings with a digit, so the two never collide.

-- Trading partners and the regulators, compliance officers and admins who use the server.
CREATE TABLE trading_partners (
    id               bigserial PRIMARY KEY,
    gln              char(13) UNIQUE CHECK (gln ~ '^[0-9]{13}$'),
    name             text NOT NULL CHECK (name <> ''),
    role             text NOT NULL
                     CHECK (role IN ('trading_partner', 'regulator', 'compliance', 'admin')),
    enabled          boolean NOT NULL DEFAULT true,
    -- Authorized-trading-partner status (DSCSA §581(2)) and the licence or registration behind it.
    atp_status       text NOT NULL DEFAULT 'unknown'
                     CHECK (atp_status IN ('unknown', 'authorized', 'suspended', 'revoked')),
    licence_number   text,
    licence_expires  date,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Client certificates (mutual TLS); several per partner so that certificates can be rotated.
CREATE TABLE partner_certificates (
    fingerprint_sha256 bytea PRIMARY KEY CHECK (octet_length(fingerprint_sha256) = 32),
    partner_id         bigint NOT NULL REFERENCES trading_partners (id),
    subject            text NOT NULL,
    issuer             text NOT NULL,
    serial_hex         text NOT NULL,
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    added_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz
);
CREATE INDEX partner_certificates_partner ON partner_certificates (partner_id);

-- Every document received or sent, kept for the 6-year DSCSA retention. A document is also the
-- EPCIS 2.0 capture job: status, behaviour on error, errors.
CREATE TABLE documents (
    id                   uuid PRIMARY KEY,
    direction            text NOT NULL CHECK (direction IN ('received', 'sent')),
    format               text NOT NULL
                         CHECK (format IN ('epcis-1.2-xml', 'epcis-2.0-xml', 'epcis-2.0-jsonld',
                                           'masterdata-1.2-xml', 'unknown')),
    status               text NOT NULL
                         CHECK (status IN ('receiving', 'processing', 'accepted',
                                           'partially_accepted', 'rejected', 'failed')),
    error_behaviour      text NOT NULL DEFAULT 'rollback'
                         CHECK (error_behaviour IN ('rollback', 'proceed')),
    sha256               bytea NOT NULL CHECK (octet_length(sha256) = 32),
    byte_size            bigint NOT NULL CHECK (byte_size >= 0),
    -- SBDH (1.2) or pseudo-SBDH (2.0) fields, as given: a GLN or an SGLN URI.
    sender               text,
    receiver             text,
    instance_identifier  text,
    creation_date        timestamptz,
    -- The authenticated partner that sent it (received) or it was sent to (sent).
    partner_id           bigint REFERENCES trading_partners (id),
    received_at          timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    event_count          integer NOT NULL DEFAULT 0,
    epc_count            bigint NOT NULL DEFAULT 0,
    -- Problem details (rule id, line, column, event index, message), as sent to the client.
    errors               jsonb NOT NULL DEFAULT '[]',
    warnings             jsonb NOT NULL DEFAULT '[]',
    retain_until         date NOT NULL DEFAULT (now() + interval '6 years')::date
);
-- The same bytes accepted twice are stored once: the resend is answered from the first copy.
CREATE UNIQUE INDEX documents_accepted_sha256 ON documents (sha256)
    WHERE direction = 'received' AND status IN ('accepted', 'partially_accepted');
CREATE INDEX documents_received_at ON documents (received_at);
CREATE INDEX documents_partner ON documents (partner_id, received_at);

-- The raw bytes, in chunks, so that a document of any size streams in and out with bounded memory.
CREATE TABLE document_chunks (
    document_id  uuid NOT NULL REFERENCES documents (id),
    seq          integer NOT NULL CHECK (seq >= 0),
    data         bytea NOT NULL,
    PRIMARY KEY (document_id, seq)
);

-- One table for every event type. Event-type and role codes are smallints (see ARCHITECTURE.md)
-- because these are the largest tables.
--   event_type: 1 ObjectEvent, 2 AggregationEvent, 3 TransactionEvent, 4 TransformationEvent,
--               5 AssociationEvent, 6 QuantityEvent
CREATE TABLE events (
    id                      bigserial PRIMARY KEY,
    document_id             uuid NOT NULL REFERENCES documents (id),
    seq                     integer NOT NULL CHECK (seq >= 0),
    event_type              smallint NOT NULL CHECK (event_type BETWEEN 1 AND 6),
    action                  text CHECK (action IN ('ADD', 'OBSERVE', 'DELETE')),
    event_time              timestamptz NOT NULL,
    event_time_zone_offset  text NOT NULL CHECK (event_time_zone_offset ~ '^[+-][0-9]{2}:[0-9]{2}$'),
    record_time             timestamptz NOT NULL DEFAULT now(),
    -- eventID as the sender gave it (2.0, or 1.2 baseExtension), and the digest of the CBV 2.0
    -- event hash: the hash id is 'ni:///sha-256;' || encode(event_hash, 'hex') || '?ver=CBV2.0'.
    event_id                text,
    event_hash              bytea NOT NULL CHECK (octet_length(event_hash) = 32),
    -- CBV values as CBV short words where standard (e.g. 'shipping'), other URIs as given.
    biz_step                text,
    disposition             text,
    read_point              text,
    biz_location            text,
    transformation_id       text,
    persistent_disposition  jsonb,
    -- Error declaration (1.2 baseExtension / 2.0): the event retracts or corrects an earlier one.
    error_declaration_time  timestamptz,
    error_reason            text,
    corrective_event_ids    text[],
    -- Certification info, sensor data and every unknown extension element, kept as received
    -- (XML fragments or JSON) so nothing a partner sent is lost.
    extensions              jsonb
);
-- The same event captured twice is stored once. An error declaration repeats the event it
-- retracts (the hash ignores the declaration), so declarations are outside this constraint.
CREATE UNIQUE INDEX events_hash ON events (event_hash) WHERE error_declaration_time IS NULL;
CREATE INDEX events_document ON events (document_id, seq);
CREATE INDEX events_event_time ON events (event_time);
CREATE INDEX events_event_id ON events (event_id) WHERE event_id IS NOT NULL;

-- Event <-> identifier membership, and quantity rows for class-level identifiers.
--   role: 1 epc (epcList / quantityList), 2 parent, 3 child (childEPCs / childQuantityList),
--         4 input, 5 output
-- No foreign key to events: rows are bulk-loaded by COPY in the same transaction as their event,
-- and a per-row FK check would cost more than the load itself. Invariant kept by the capture code.
-- An identifier appears once per role in an event (the primary key also serves "EPCs of an event").
CREATE TABLE event_epcs (
    event_id  bigint NOT NULL,
    role      smallint NOT NULL CHECK (role BETWEEN 1 AND 5),
    epc_key   text NOT NULL,
    quantity  double precision,
    uom       text,
    PRIMARY KEY (event_id, role, epc_key)
);
-- Events by identifier.
CREATE INDEX event_epcs_key ON event_epcs (epc_key, event_id);

CREATE TABLE event_biz_transactions (
    event_id  bigint NOT NULL REFERENCES events (id),
    seq       smallint NOT NULL CHECK (seq >= 0),
    type      text,
    bt_id     text NOT NULL,
    PRIMARY KEY (event_id, seq)
);
CREATE INDEX event_biz_transactions_id ON event_biz_transactions (bt_id);

--   kind: 1 source, 2 destination
CREATE TABLE event_sources_destinations (
    event_id  bigint NOT NULL REFERENCES events (id),
    seq       smallint NOT NULL CHECK (seq >= 0),
    kind      smallint NOT NULL CHECK (kind IN (1, 2)),
    type      text NOT NULL,
    party     text NOT NULL,
    PRIMARY KEY (event_id, seq)
);
CREATE INDEX event_sources_destinations_party ON event_sources_destinations (party);

-- Instance/lot master data carried by commissioning events.
CREATE TABLE event_ilmd (
    event_id  bigint PRIMARY KEY REFERENCES events (id),
    lot       text,
    expiry    date,
    other     jsonb
);
CREATE INDEX event_ilmd_lot ON event_ilmd (lot) WHERE lot IS NOT NULL;

-- The current state of every serialised object (SGTIN packages, SSCC containers, ...).
--   kind:   1 sgtin, 2 sscc, 9 other identifier
--   status: 1 commissioned, 2 packed, 3 shipped, 4 received, 5 dispensed, 6 decommissioned,
--           7 destroyed, 8 unknown (seen in an event before its commissioning arrived)
CREATE TABLE serials (
    id                      bigserial PRIMARY KEY,
    epc_key                 text NOT NULL UNIQUE,
    kind                    smallint NOT NULL CHECK (kind IN (1, 2, 9)),
    gtin                    char(14) CHECK (gtin ~ '^[0-9]{14}$'),
    serial_number           text,
    lot                     text,
    expiry                  date,
    status                  smallint NOT NULL CHECK (status BETWEEN 1 AND 8),
    disposition             text,
    -- Containment: the direct parent and the outermost container (both serials.id; no FK, as
    -- for event_epcs: whole pallets are re-pointed in one statement).
    parent_id               bigint,
    top_id                  bigint,
    -- Owner (owning_party) and location (last SGLN) from events' source/destination lists.
    owner                   text,
    location                text,
    last_event_id           bigint,
    commissioned_at         timestamptz,
    commission_count        integer NOT NULL DEFAULT 0,
    suspect                 boolean NOT NULL DEFAULT false,
    recalled                boolean NOT NULL DEFAULT false,
    illegitimate            boolean NOT NULL DEFAULT false,
    -- Commissioned more than once: a potential counterfeit.
    duplicate               boolean NOT NULL DEFAULT false,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
-- State by GTIN + serial is a lookup of the key '01' || gtin || '21' || serial: epc_key UNIQUE.
CREATE INDEX serials_parent ON serials (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX serials_top ON serials (top_id) WHERE top_id IS NOT NULL;
CREATE INDEX serials_gtin_lot ON serials (gtin, lot) WHERE gtin IS NOT NULL;
CREATE INDEX serials_flagged ON serials (id) WHERE suspect OR recalled OR illegitimate OR duplicate;

-- Product master data (EPCClass vocabulary, configured trade items).
CREATE TABLE trade_items (
    gtin                   char(14) PRIMARY KEY CHECK (gtin ~ '^[0-9]{14}$'),
    ndc                    text,
    name                   text,
    dosage_form            text,
    strength               text,
    pack_size              text,
    manufacturer           text,
    company_prefix_length  smallint CHECK (company_prefix_length BETWEEN 4 AND 12),
    attributes             jsonb NOT NULL DEFAULT '{}',
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trade_items_ndc ON trade_items (ndc) WHERE ndc IS NOT NULL;

-- Location / party master data, keyed like event identifiers (SGLN key or URI).
CREATE TABLE locations (
    id           text PRIMARY KEY,
    gln          char(13) CHECK (gln ~ '^[0-9]{13}$'),
    name         text,
    street       text,
    city         text,
    state        text,
    postal_code  text,
    country      text,
    attributes   jsonb NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX locations_gln ON locations (gln) WHERE gln IS NOT NULL;

-- GS1 company prefixes learned from EPC URIs and master data: needed to write EPC URIs back.
CREATE TABLE company_prefixes (
    prefix      text PRIMARY KEY CHECK (prefix ~ '^[0-9]{4,12}$'),
    source      text NOT NULL CHECK (source IN ('learned', 'configured', 'ndc', 'gcp_table')),
    learned_at  timestamptz NOT NULL DEFAULT now()
);

-- Lots and products flagged by compliance officers (recall, investigation). Serial-level flags
-- live on serials; a lot flag also covers serials commissioned after it was set.
CREATE TABLE product_flags (
    id          bigserial PRIMARY KEY,
    gtin        char(14) NOT NULL CHECK (gtin ~ '^[0-9]{14}$'),
    lot         text,
    flag        text NOT NULL CHECK (flag IN ('recalled', 'suspect', 'illegitimate')),
    reason      text NOT NULL,
    set_by      bigint REFERENCES trading_partners (id),
    set_at      timestamptz NOT NULL DEFAULT now(),
    cleared_at  timestamptz
);
CREATE INDEX product_flags_active ON product_flags (gtin, lot) WHERE cleared_at IS NULL;

-- Verification requests answered or forwarded (GS1 Lightweight Messaging / VRS), kept 6 years.
CREATE TABLE verification_requests (
    id               bigserial PRIMARY KEY,
    received_at      timestamptz NOT NULL DEFAULT now(),
    partner_id       bigint REFERENCES trading_partners (id),
    requester_gln    text,
    corr_uuid        text,
    context          text,
    gtin             char(14),
    serial_number    text,
    lot              text,
    expiry           text,
    verified         boolean,
    failure_reason   text,
    additional_info  text[],
    http_status      smallint NOT NULL,
    forwarded_to     text,
    duration_us      integer
);
CREATE INDEX verification_requests_product ON verification_requests (gtin, serial_number);
CREATE INDEX verification_requests_received_at ON verification_requests (received_at);

-- Where to forward verification requests for products not served here.
CREATE TABLE lookup_directory (
    prefix         text PRIMARY KEY CHECK (prefix ~ '^[0-9]{4,14}$'),
    responder_url  text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Append-only audit log: who did what, when. Updates and deletes are refused by the database.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text,
    details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
