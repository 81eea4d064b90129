-- Compliance (issue 14; docs/COMPLIANCE.md): the transaction statement a received document
-- carried, and trace requests from regulators with their DSCSA clock.

-- The DSCSA transaction statement (GS1 US `gs1ushc:dscsaTransactionStatement` in the EPCIS
-- header) of a document: NULL when the document had none, else
-- {"affirmed": true|false|null, "legalNotice": "…"|null}. A trace's transaction history says
-- for each change of ownership whether a TS came with its TI. Documents captured before this
-- migration read as having none: the archived bytes still hold it.
ALTER TABLE documents ADD COLUMN transaction_statement jsonb;

-- A request for product tracing information (FDA or a Federal or State official): who asked,
-- why, their reference, what about, when it arrived, when it is due (the DSCSA clock: 1
-- business day and at most 48 hours, or the time the official set), and when it was answered.
CREATE TABLE trace_requests (
    id           bigserial PRIMARY KEY,
    requester    text NOT NULL CHECK (requester <> ''),
    reason       text NOT NULL
                 CHECK (reason IN ('suspect', 'illegitimate', 'recall', 'audit', 'inspection')),
    reference    text NOT NULL CHECK (reference <> ''),
    -- The identifier asked about, as the requester gave it (free text: a serial, a lot, …).
    subject      text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    due_at       timestamptz NOT NULL,
    answered_at  timestamptz,
    -- The audit actor who answered it (a partner, or a CLI user).
    answered_by  text,
    created_by   text NOT NULL,
    CHECK (answered_at IS NULL OR answered_by IS NOT NULL)
);
-- What is open, by when it is due (the overdue list).
CREATE INDEX trace_requests_open ON trace_requests (due_at) WHERE answered_at IS NULL;
