-- Serial issuance (issue 15): pools of serial numbers per GTIN, and every allocation from them.
-- A serial is a keyed permutation (FF1) of a pool counter, so no serial is stored here: the
-- counter ranges are the record. The key itself is never stored; `key_id` is a check value
-- that tells which key a pool was created with.
CREATE TABLE serial_pools (
    id              bigserial PRIMARY KEY,
    gtin            char(14) NOT NULL,
    -- 'numeric' (0-9) or 'alnum' (0-9 A-Z); first character never '0'
    format          text NOT NULL CHECK (format IN ('numeric', 'alnum')),
    length          smallint NOT NULL CHECK (length BETWEEN 1 AND 20),
    packaging_level text NOT NULL DEFAULT 'item'
                    CHECK (packaging_level IN ('item', 'pack', 'case', 'pallet')),
    key_id          text NOT NULL,
    -- serials that may ever be issued (at most 1 in 10,000 of the domain)
    capacity        bigint NOT NULL CHECK (capacity > 0),
    -- the next counter to hand out; advanced by one UPDATE … RETURNING per allocation
    next_counter    bigint NOT NULL DEFAULT 0 CHECK (next_counter >= 0 AND next_counter <= capacity),
    max_per_request integer NOT NULL CHECK (max_per_request > 0),
    -- serials one partner may take from this pool over its life (NULL: no quota)
    partner_quota   bigint CHECK (partner_quota > 0),
    -- trading partners allowed to allocate (manufacturer, contract packager); admins always may
    partner_ids     bigint[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL
);
-- One permutation per GTIN: two pools of one GTIN could issue the same serial.
CREATE UNIQUE INDEX serial_pools_gtin ON serial_pools (gtin);

CREATE TABLE serial_allocations (
    id            bigserial PRIMARY KEY,
    pool_id       bigint NOT NULL REFERENCES serial_pools (id),
    first_counter bigint NOT NULL CHECK (first_counter >= 0),
    count         integer NOT NULL CHECK (count > 0),
    partner_id    bigint REFERENCES trading_partners (id),
    actor         text NOT NULL,
    purpose       text,
    allocated_at  timestamptz NOT NULL DEFAULT now()
);
-- "Which allocation holds counter c?" and the reconciliation walk.
CREATE UNIQUE INDEX serial_allocations_range ON serial_allocations (pool_id, first_counter);

-- What each partner has taken from a pool (its quota), updated in the allocation's transaction.
CREATE TABLE serial_partner_usage (
    pool_id    bigint NOT NULL REFERENCES serial_pools (id),
    partner_id bigint NOT NULL REFERENCES trading_partners (id),
    allocated  bigint NOT NULL CHECK (allocated >= 0),
    PRIMARY KEY (pool_id, partner_id)
);
