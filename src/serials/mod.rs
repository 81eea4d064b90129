//! Serial issuance (issue 15): pools of serial numbers per GTIN, allocations from them, "was
//! this serial issued?", reconciliation, and GS1 DataMatrix labels.
//!
//! A serial is `FF1(key, tweak = GTIN)` of a pool counter (see [`format`]): unique because a
//! permutation never maps two counters to one serial and the counter is advanced atomically in
//! PostgreSQL (one `UPDATE … RETURNING` per allocation, so two requests on any number of
//! servers never get the same range); non-guessable because without the key the serials
//! issued are indistinguishable from random strings of the format, of which at most 1 in
//! 10,000 is issued. No serial is stored: an allocation is its counter range, and decrypting a
//! serial gives back its counter. Design and key handling: docs/SERIALS.md.

pub mod ff1;
pub mod format;
pub mod key;
pub mod label;
pub mod output;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

pub use format::{Charset, FormatError, PoolCipher, SerialFormat};
pub use key::{KeyError, SerialKey};

use crate::gs1::{Gtin, SerialNumber};
use crate::partners::{Caller, Role};
use crate::store::serials::{self as q, AllocationRow, PoolRow};
use crate::store::{audit, StoreError};

/// Largest allocation one request may ask for, whatever a pool says.
pub const MAX_PER_REQUEST: u32 = 10_000_000;
/// A pool's per-request cap when its creator names none.
pub const DEFAULT_PER_REQUEST: u32 = 500_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackagingLevel {
    Item,
    Pack,
    Case,
    Pallet,
}

impl PackagingLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PackagingLevel::Item => "item",
            PackagingLevel::Pack => "pack",
            PackagingLevel::Case => "case",
            PackagingLevel::Pallet => "pallet",
        }
    }
}

impl FromStr for PackagingLevel {
    type Err = SerialError;
    fn from_str(s: &str) -> Result<Self, SerialError> {
        match s {
            "item" => Ok(PackagingLevel::Item),
            "pack" => Ok(PackagingLevel::Pack),
            "case" => Ok(PackagingLevel::Case),
            "pallet" => Ok(PackagingLevel::Pallet),
            other => Err(SerialError::Invalid(format!(
                "packaging level `{other}` is not one of item, pack, case, pallet"
            ))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{0}")]
    Capacity(String),
    #[error("GTIN {0} already has a serial pool (one pool per GTIN keeps its serials unique)")]
    PoolExists(String),
    #[error("no serial pool for GTIN {0}")]
    NoPool(String),
    #[error("allocation {0} not found")]
    NoAllocation(i64),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Quota(String),
    #[error("{0}")]
    Exhausted(String),
    #[error("the pool for GTIN {gtin} was created with serial key {pool_key}, but this server has key {ours}; configure that key (serials.key_file or serials.key_env)")]
    KeyMismatch {
        gtin: String,
        pool_key: String,
        ours: String,
    },
    #[error("partner {0} is not registered")]
    UnknownPartner(i64),
    #[error("labels are printed by admins and by the partners named on the GTIN's serial pool")]
    LabelNotPermitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for SerialError {
    fn from(e: diesel::result::Error) -> Self {
        SerialError::Store(StoreError::Query(e))
    }
}

/// A pool as `serials pool list` and `GET /serials/pools` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    pub id: i64,
    pub gtin: String,
    pub format: String,
    pub packaging_level: String,
    pub key_id: String,
    /// Serials the pool may ever issue.
    pub capacity: i64,
    /// Serials issued so far (the counter).
    pub allocated: i64,
    pub remaining: i64,
    /// The format's domain (all serials of that shape), as text: it may exceed 64 bits.
    pub domain: String,
    pub max_per_request: i32,
    pub partner_quota: Option<i64>,
    pub partner_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Pool {
    fn from_row(r: PoolRow) -> Pool {
        let domain = format_of(&r)
            .map(|f| f.domain().to_string())
            .unwrap_or_default();
        Pool {
            id: r.id,
            format: format!("{}:{}", r.format, r.length),
            gtin: r.gtin,
            packaging_level: r.packaging_level,
            key_id: r.key_id,
            capacity: r.capacity,
            allocated: r.next_counter,
            remaining: r.capacity - r.next_counter,
            domain,
            max_per_request: r.max_per_request,
            partner_quota: r.partner_quota,
            partner_ids: r.partner_ids,
            created_at: r.created_at,
            created_by: r.created_by,
        }
    }
}

fn format_of(r: &PoolRow) -> Result<SerialFormat, FormatError> {
    format!("{}:{}", r.format, r.length).parse()
}

/// What `serials pool create` and `POST /serials/pools` take.
#[derive(Debug, Clone)]
pub struct NewPool {
    pub gtin: Gtin,
    pub format: SerialFormat,
    pub packaging_level: PackagingLevel,
    /// Serials planned over the pool's life; default: the most the format allows.
    pub capacity: Option<u64>,
    pub max_per_request: Option<u32>,
    pub partner_quota: Option<u64>,
    /// Trading partners that may allocate (manufacturer, contract packagers).
    pub partner_ids: Vec<i64>,
}

fn unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

fn foreign_key_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    )
}

/// Creates a pool, refusing settings that cannot keep its serials unguessable.
pub fn create_pool(
    conn: &mut PgConnection,
    key: &SerialKey,
    new: NewPool,
    actor: &str,
) -> Result<Pool, SerialError> {
    let max = new.format.max_capacity();
    let capacity = new.capacity.unwrap_or(max);
    if capacity == 0 {
        return Err(SerialError::Capacity("capacity must be at least 1".into()));
    }
    if capacity > max {
        // The shortest format of this character set that would allow the planned volume.
        let needed = u128::from(capacity) * format::GUESS_RATIO + 1;
        let suggest = SerialFormat::shortest(new.format.charset(), needed);
        return Err(SerialError::Capacity(format!(
            "format {} has {} serials, so at most {max} may be issued (under 1 in 10,000, the guessing bar); \
             {capacity} were asked: use {suggest} or a smaller capacity",
            new.format,
            new.format.domain(),
        )));
    }
    let per_request = new.max_per_request.unwrap_or(DEFAULT_PER_REQUEST);
    if per_request == 0 || per_request > MAX_PER_REQUEST {
        return Err(SerialError::Invalid(format!(
            "max_per_request must be 1 to {MAX_PER_REQUEST}"
        )));
    }
    if new.partner_quota == Some(0) {
        return Err(SerialError::Invalid(
            "partner_quota must be at least 1 (leave it out for no quota)".into(),
        ));
    }
    let quota = match new.partner_quota {
        None => None,
        Some(q) => Some(
            i64::try_from(q)
                .map_err(|_| SerialError::Invalid("partner_quota is too large".into()))?,
        ),
    };
    let mut partner_ids = new.partner_ids.clone();
    partner_ids.sort_unstable();
    partner_ids.dedup();
    let format_name = new.format.charset().as_str();
    conn.transaction(|conn| {
        for id in &partner_ids {
            if crate::store::partners::find(conn, &id.to_string())?.is_none() {
                return Err(SerialError::UnknownPartner(*id));
            }
        }
        let row = q::insert_pool(
            conn,
            &q::NewPoolRow {
                gtin: new.gtin.as_str(),
                format: format_name,
                length: i16::from(new.format.length()),
                packaging_level: new.packaging_level.as_str(),
                key_id: key.id(),
                capacity: capacity as i64,
                max_per_request: per_request as i32,
                partner_quota: quota,
                partner_ids: &partner_ids,
                created_by: actor,
            },
        )
        .map_err(|e| {
            if unique_violation(&e) {
                SerialError::PoolExists(new.gtin.as_str().to_string())
            } else if foreign_key_violation(&e) {
                SerialError::Invalid("a partner id is not registered".into())
            } else {
                e.into()
            }
        })?;
        audit::record(
            conn,
            actor,
            "serials.pool.create",
            &format!("serial_pool:{}", row.id),
            serde_json::json!({
                "gtin": row.gtin, "format": new.format.to_string(), "capacity": row.capacity,
                "max_per_request": row.max_per_request, "partner_quota": row.partner_quota,
                "partner_ids": row.partner_ids, "key_id": row.key_id,
            }),
        )?;
        Ok(Pool::from_row(row))
    })
}

pub fn list_pools(conn: &mut PgConnection) -> Result<Vec<Pool>, SerialError> {
    Ok(q::pools(conn)?.into_iter().map(Pool::from_row).collect())
}

/// Who asks for serials: an authenticated partner, or the operator at the command line.
#[derive(Debug, Clone)]
pub enum Requester {
    Partner(Caller),
    Operator,
}

impl Requester {
    fn actor(&self) -> String {
        match self {
            Requester::Partner(c) => c.actor(),
            Requester::Operator => "cli".into(),
        }
    }
    fn partner_id(&self) -> Option<i64> {
        match self {
            Requester::Partner(c) => Some(c.partner_id),
            Requester::Operator => None,
        }
    }
    /// The partner whose quota an allocation counts against (admins and the operator have none).
    fn quota_holder(&self) -> Option<i64> {
        match self {
            Requester::Partner(c) if c.role == Role::TradingPartner => Some(c.partner_id),
            _ => None,
        }
    }
    /// Admins and the operator may use any pool; a trading partner only those naming it.
    fn may_use(&self, pool: &PoolRow) -> bool {
        match self {
            Requester::Operator => true,
            Requester::Partner(c) => {
                c.role == Role::Admin
                    || (c.role == Role::TradingPartner && pool.partner_ids.contains(&c.partner_id))
            }
        }
    }
}

/// The NDC a label of `gtin` prints, from master data (None: none recorded), for a requester
/// who may print labels of the GTIN: admins, the operator, and the trading partners named on
/// its serial pool.
pub fn label_ndc(
    conn: &mut PgConnection,
    requester: &Requester,
    gtin: &Gtin,
) -> Result<Option<String>, SerialError> {
    let allowed = match requester {
        Requester::Operator => true,
        Requester::Partner(c) if c.role == Role::Admin => true,
        Requester::Partner(_) => {
            q::pool_by_gtin(conn, gtin.as_str())?.is_some_and(|p| requester.may_use(&p))
        }
    };
    if !allowed {
        return Err(SerialError::LabelNotPermitted);
    }
    Ok(q::trade_item_ndc(conn, gtin.as_str())?)
}

/// An allocation request.
#[derive(Debug, Clone)]
pub struct AllocationRequest {
    pub gtin: Gtin,
    pub count: u32,
    /// Purchase order, work order, packaging line: kept with the allocation.
    pub purpose: Option<String>,
}

/// A recorded allocation: the pool's permutation applied to `first_counter .. + count`.
#[derive(Debug, Clone, Serialize)]
pub struct Allocation {
    pub id: i64,
    pub pool_id: i64,
    pub gtin: String,
    pub format: String,
    pub first_counter: i64,
    pub count: i32,
    pub partner_id: Option<i64>,
    pub actor: String,
    pub purpose: Option<String>,
    pub allocated_at: DateTime<Utc>,
}

impl Allocation {
    fn from_rows(a: AllocationRow, pool: &PoolRow) -> Allocation {
        Allocation {
            id: a.id,
            pool_id: a.pool_id,
            gtin: pool.gtin.clone(),
            format: format!("{}:{}", pool.format, pool.length),
            first_counter: a.first_counter,
            count: a.count,
            partner_id: a.partner_id,
            actor: a.actor,
            purpose: a.purpose,
            allocated_at: a.allocated_at,
        }
    }
}

/// The serials of an allocation, generated on demand (nothing is stored but the range).
pub struct Issued {
    pub allocation: Allocation,
    pub cipher: PoolCipher,
}

impl Issued {
    pub fn for_each(&self, f: impl FnMut(&[u8])) {
        self.cipher.for_each(
            self.allocation.first_counter as u64,
            self.allocation.count as u64,
            f,
        )
    }
}

fn cipher_for(key: &SerialKey, pool: &PoolRow) -> Result<PoolCipher, SerialError> {
    if pool.key_id != key.id() {
        return Err(SerialError::KeyMismatch {
            gtin: pool.gtin.clone(),
            pool_key: pool.key_id.clone(),
            ours: key.id().to_string(),
        });
    }
    let gtin: Gtin = pool
        .gtin
        .parse()
        .map_err(|e: crate::gs1::Gs1Error| SerialError::Invalid(e.to_string()))?;
    Ok(PoolCipher::new(key.ff1(), format_of(pool)?, &gtin))
}

/// Allocates `count` serials: checks caps and the quota, advances the counter (one statement),
/// records the allocation and audits it, all in one transaction.
pub fn allocate(
    conn: &mut PgConnection,
    key: &SerialKey,
    req: &AllocationRequest,
    who: &Requester,
) -> Result<Issued, SerialError> {
    let gtin = req.gtin.as_str();
    if req.count == 0 {
        return Err(SerialError::Invalid("count must be at least 1".into()));
    }
    if let Some(p) = &req.purpose {
        if p.chars().count() > 200 {
            return Err(SerialError::Invalid(
                "purpose must be at most 200 characters".into(),
            ));
        }
    }
    conn.transaction(|conn| {
        let pool = q::pool_by_gtin(conn, gtin)?
            .filter(|p| who.may_use(p))
            // A partner not named on a pool learns nothing about it: same answer as no pool.
            .ok_or_else(|| SerialError::NoPool(gtin.to_string()))?;
        let cipher = cipher_for(key, &pool)?;
        let count = i64::from(req.count);
        if count > i64::from(pool.max_per_request) {
            return Err(SerialError::TooMany(format!(
                "{} serials asked; the pool for GTIN {gtin} gives at most {} per request",
                req.count, pool.max_per_request
            )));
        }
        if let (Some(quota), Some(partner)) = (pool.partner_quota, who.quota_holder()) {
            if !q::take_quota(conn, pool.id, partner, count, quota)? {
                let used = q::quota_used(conn, pool.id, partner)?;
                return Err(SerialError::Quota(format!(
                    "{} serials asked; partner {partner} has taken {used} of its quota of {quota} from the pool for GTIN {gtin}",
                    req.count
                )));
            }
        }
        let first = q::advance(conn, pool.id, count)?.ok_or_else(|| {
            SerialError::Exhausted(format!(
                "the pool for GTIN {gtin} has {} serials left of {}; {} were asked",
                pool.capacity - pool.next_counter,
                pool.capacity,
                req.count
            ))
        })?;
        let row = q::insert_allocation(
            conn,
            pool.id,
            first,
            req.count as i32,
            who.partner_id(),
            &who.actor(),
            req.purpose.as_deref(),
        )?;
        audit::record(
            conn,
            &who.actor(),
            "serials.allocate",
            &format!("serial_allocation:{}", row.id),
            serde_json::json!({
                "pool_id": pool.id, "gtin": gtin, "first_counter": first, "count": req.count,
                "purpose": req.purpose,
            }),
        )?;
        Ok(Issued {
            allocation: Allocation::from_rows(row, &pool),
            cipher,
        })
    })
}

/// An earlier allocation again (its serials are regenerated from the range): for its partner,
/// admins and the operator.
pub fn allocation(
    conn: &mut PgConnection,
    key: &SerialKey,
    id: i64,
    who: &Requester,
) -> Result<Issued, SerialError> {
    let row = q::allocation(conn, id)?.ok_or(SerialError::NoAllocation(id))?;
    let visible = match who {
        Requester::Operator => true,
        Requester::Partner(c) => c.role == Role::Admin || row.partner_id == Some(c.partner_id),
    };
    if !visible {
        return Err(SerialError::NoAllocation(id));
    }
    let pool = q::pool(conn, row.pool_id)?.ok_or(SerialError::NoAllocation(id))?;
    let cipher = cipher_for(key, &pool)?;
    Ok(Issued {
        allocation: Allocation::from_rows(row, &pool),
        cipher,
    })
}

/// Whether a serial of a GTIN was ever issued here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum WasIssued {
    /// Issued by this allocation.
    Issued {
        allocation_id: i64,
        partner_id: Option<i64>,
    },
    /// The GTIN has a pool here and the serial has its shape, but it was never allocated: a
    /// counterfeit signal when it turns up commissioned.
    NeverIssued,
    /// The GTIN has no pool here, or the serial is not of its pool's format (issued elsewhere).
    NotOurPool,
}

/// "Was this serial issued?": decrypts the serial to its counter and finds its allocation.
/// Meant for capture (a commissioning of a `NeverIssued` serial is suspect) and reports.
pub fn was_issued(
    conn: &mut PgConnection,
    key: &SerialKey,
    gtin: &Gtin,
    serial: &SerialNumber,
) -> Result<WasIssued, SerialError> {
    let Some(pool) = q::pool_by_gtin(conn, gtin.as_str())? else {
        return Ok(WasIssued::NotOurPool);
    };
    let cipher = cipher_for(key, &pool)?;
    let Some(counter) = cipher.counter(serial.as_str()) else {
        return Ok(WasIssued::NotOurPool);
    };
    let Ok(counter) = i64::try_from(counter) else {
        return Ok(WasIssued::NeverIssued);
    };
    if counter >= pool.next_counter {
        return Ok(WasIssued::NeverIssued);
    }
    Ok(match q::allocation_holding(conn, pool.id, counter)? {
        Some(a) => WasIssued::Issued {
            allocation_id: a.id,
            partner_id: a.partner_id,
        },
        None => WasIssued::NeverIssued,
    })
}

/// "Was this serial issued?" for many serials at once, as capture asks it of every serial a
/// document commissions: the pools of their GTINs and those pools' allocations are loaded once,
/// then each serial costs one decryption and a binary search, no query.
pub struct IssuanceCheck {
    /// Per GTIN: the pool's cipher and its allocations in counter order.
    pools: std::collections::HashMap<String, (PoolCipher, Vec<q::AllocationRow>)>,
}

/// The allocation (index into `allocations`, sorted by first counter, never overlapping) that
/// gave out `counter`, if any.
fn holding(allocations: &[q::AllocationRow], counter: u64) -> Option<usize> {
    let counter = i64::try_from(counter).ok()?;
    let i = allocations
        .partition_point(|a| a.first_counter <= counter)
        .checked_sub(1)?;
    let a = &allocations[i];
    (counter < a.first_counter + i64::from(a.count)).then_some(i)
}

impl IssuanceCheck {
    /// Loads the pools of these GTINs that this key can read. A pool made with another key is
    /// left out (logged once): its serials cannot be decrypted here, and calling every one of
    /// them never issued would flag genuine packs.
    pub fn load(
        conn: &mut PgConnection,
        key: &SerialKey,
        gtins: &[&str],
    ) -> diesel::QueryResult<IssuanceCheck> {
        let mut pools = std::collections::HashMap::new();
        for pool in q::pools_of_gtins(conn, gtins)? {
            match cipher_for(key, &pool) {
                Ok(cipher) => {
                    let allocations = q::allocations(conn, pool.id)?;
                    pools.insert(pool.gtin.clone(), (cipher, allocations));
                }
                Err(e) => log::warn!("issuance check skipped for GTIN {}: {e}", pool.gtin),
            }
        }
        Ok(IssuanceCheck { pools })
    }

    /// The GTINs with a pool of ours that this check can read.
    pub fn gtins(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// Whether a serial of the GTIN is in the shape of one of our pools yet was never
    /// allocated: a counterfeit signal. Serials of GTINs without a pool here, or of another
    /// shape than the pool's (issued by another system), are not judged.
    pub fn never_issued(&self, gtin: &str, serial: &str) -> bool {
        let Some((cipher, allocations)) = self.pools.get(gtin) else {
            return false;
        };
        cipher
            .counter(serial)
            .is_some_and(|c| holding(allocations, c).is_none())
    }
}

/// One allocation in a reconciliation report.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationUse {
    pub allocation_id: i64,
    pub partner_id: Option<i64>,
    pub purpose: Option<String>,
    pub allocated_at: DateTime<Utc>,
    pub count: i64,
    pub commissioned: i64,
    pub unused: i64,
}

/// Allocated vs commissioned vs still unused, per pool and allocation.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub gtin: String,
    pub format: String,
    pub capacity: i64,
    pub allocated: i64,
    pub commissioned: i64,
    pub unused: i64,
    /// Commissioned serials of the pool's shape that no allocation issued (counterfeit signal).
    pub never_issued: i64,
    /// Commissioned serials of this GTIN in another shape (issued by another system).
    pub other_format: i64,
    pub allocations: Vec<AllocationUse>,
}

/// Reconciles a pool against the serials capture has seen commissioned. Decrypts each stored
/// serial of the GTIN (fast: no serial list is generated) and counts it against its allocation.
pub fn reconcile(
    conn: &mut PgConnection,
    key: &SerialKey,
    gtin: &Gtin,
) -> Result<Reconciliation, SerialError> {
    let pool = q::pool_by_gtin(conn, gtin.as_str())?
        .ok_or_else(|| SerialError::NoPool(gtin.as_str().to_string()))?;
    let cipher = cipher_for(key, &pool)?;
    let allocations = q::allocations(conn, pool.id)?;
    let mut used = vec![0i64; allocations.len()];
    let (mut never_issued, mut other_format) = (0, 0);
    for serial in q::commissioned_serials(conn, gtin.as_str())? {
        let Some(counter) = cipher.counter(&serial) else {
            other_format += 1;
            continue;
        };
        match holding(&allocations, counter) {
            Some(i) => used[i] += 1,
            None => never_issued += 1,
        }
    }
    let commissioned: i64 = used.iter().sum();
    Ok(Reconciliation {
        gtin: pool.gtin.clone(),
        format: format!("{}:{}", pool.format, pool.length),
        capacity: pool.capacity,
        allocated: pool.next_counter,
        commissioned,
        unused: pool.next_counter - commissioned,
        never_issued,
        other_format,
        allocations: allocations
            .into_iter()
            .zip(used)
            .map(|(a, n)| AllocationUse {
                allocation_id: a.id,
                partner_id: a.partner_id,
                purpose: a.purpose,
                allocated_at: a.allocated_at,
                count: i64::from(a.count),
                commissioned: n,
                unused: i64::from(a.count) - n,
            })
            .collect(),
    })
}
