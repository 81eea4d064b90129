//! DSCSA shipments out (docs/SHIPMENTS.md): a shipment of ours to a registered trading
//! partner becomes one EPCIS document with the transaction information and statement (TI/TS)
//! the buyer needs, covering the shipped hierarchy as it stood at the ship time.
//!
//! [`ship`] does it in one transaction: the request is parsed ([`ShipmentRequest::parse`]);
//! the hierarchy below the shipped identifiers is rebuilt from the stored packing events up to
//! the ship time ([`hierarchy`]); custody, flags and master data are checked, every problem
//! found is a [`Refusal`] (what, which identifier, how to fix); the document is written a
//! chunk at a time into the sent document's stored bytes ([`document`]); the shipping event
//! is captured into our own history by the capture use case (serial state follows); and the
//! shipment row is written. Nothing of a refused shipment is stored.

pub mod document;
pub mod hierarchy;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::rc::Rc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::capture::{self, CaptureError, CaptureOptions, CaptureReport, Outcome};
use crate::config::Organisation;
use crate::epcis::write::{DocumentWriter, Format, WriteOptions};
use crate::gs1::{self, Epc, GcpResolver, Gln, KeyKind, Sgln};
use crate::store::codes::{Code, DocumentStatus, SerialStatus};
use crate::store::shipments as q;
use crate::store::{capture as cq, partners as pq};
use hierarchy::Containment;

/// Refusals listed at most (a pallet of bad serials is summed up after these).
const MAX_REFUSALS: usize = 100;

/// Bytes of the document kept in memory before they are stored as one chunk.
const CHUNK_BYTES: usize = 1 << 20;

/// A shipment as the API and the CLI give it (raw text; [`ShipmentRequest::parse`] checks it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    /// The buyer's GLN: a registered trading partner.
    pub buyer: String,
    /// Our GLN (default: `[organisation] gln`); any other is refused.
    #[serde(default)]
    pub seller: Option<String>,
    /// Ship-from and ship-to SGLNs (EPC URN, Digital Link or element string).
    pub ship_from: String,
    pub ship_to: String,
    /// The shipped top-level identifiers: SSCCs and/or SGTINs.
    pub epcs: Vec<String>,
    #[serde(default)]
    pub biz_transactions: Vec<BizTransactionRequest>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub ship_time: Option<String>,
    /// `sale` (default), `return` or `quarantine` (the last two may ship flagged product).
    #[serde(default)]
    pub purpose: Option<String>,
    /// `xml12` (default; the GS1 US profile), `xml2` or `jsonld`.
    #[serde(default)]
    pub format: Option<String>,
    /// The transaction statement's legal notice (default: [`DEFAULT_LEGAL_NOTICE`]).
    #[serde(default)]
    pub legal_notice: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BizTransactionRequest {
    /// `po`, `inv`, `desadv` (CBV words) or a URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// The number as issued (`PO-5512`) or a full URI.
    pub id: String,
}

/// The transaction statement text unless the shipment gives its own (our wording of the
/// affirmation FD&C Act §581(27) asks for).
pub const DEFAULT_LEGAL_NOTICE: &str = "The seller affirms that it has complied with each \
    applicable subsection of FDCA Sec. 581(27)(A) through (G) for the product of this \
    transaction.";

/// Why something is shipped: only returns and quarantine moves may ship flagged product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Sale,
    Return,
    Quarantine,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Sale => "sale",
            Purpose::Return => "return",
            Purpose::Quarantine => "quarantine",
        }
    }
}

/// A checked shipment request.
#[derive(Debug, Clone)]
pub struct Shipment {
    pub buyer: Gln,
    pub seller: Gln,
    pub ship_from: Sgln,
    pub ship_to: Sgln,
    /// Shipped top-level identifiers, in the order given.
    pub tops: Vec<Epc>,
    /// (CBV type word, identifier URI).
    pub biz_transactions: Vec<(String, String)>,
    pub ship_time: DateTime<Utc>,
    pub purpose: Purpose,
    pub format: Format,
    pub legal_notice: String,
}

/// A request field that does not parse, and why.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidShipment {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> InvalidShipment {
    InvalidShipment {
        field: field.into(),
        message: message.into(),
    }
}

impl ShipmentRequest {
    /// Checks every field; `seller` defaults to our GLN and must be it.
    pub fn parse(
        &self,
        us: &Organisation,
        now: DateTime<Utc>,
        tolerance: chrono::Duration,
    ) -> Result<Shipment, InvalidShipment> {
        let gln = |field: &str, v: &str| -> Result<Gln, InvalidShipment> {
            v.trim()
                .parse()
                .map_err(|e: gs1::Gs1Error| invalid(field, e.to_string()))
        };
        let buyer = gln("buyer", &self.buyer)?;
        let seller = match &self.seller {
            Some(s) => gln("seller", s)?,
            None => us.gln,
        };
        if seller != us.gln {
            return Err(invalid(
                "seller",
                format!(
                    "{} is not this server's organisation ({}); only our own shipments are written here",
                    seller.as_str(),
                    us.gln.as_str()
                ),
            ));
        }
        if buyer == seller {
            return Err(invalid("buyer", "the buyer is the seller"));
        }
        let sgln = |field: &str, v: &str| -> Result<Sgln, InvalidShipment> {
            match gs1::parse_any(v.trim()) {
                Ok(Epc::Sgln(s)) => Ok(s),
                Ok(_) => Err(invalid(field, format!("`{v}` is not an SGLN"))),
                Err(e) => Err(invalid(field, e.to_string())),
            }
        };
        let ship_from = sgln("ship_from", &self.ship_from)?;
        let ship_to = sgln("ship_to", &self.ship_to)?;
        if self.epcs.is_empty() {
            return Err(invalid("epcs", "name at least one SSCC or SGTIN to ship"));
        }
        let mut tops = Vec::with_capacity(self.epcs.len());
        let mut seen = HashSet::new();
        for (i, e) in self.epcs.iter().enumerate() {
            let field = format!("epcs[{i}]");
            let epc = match gs1::parse_any(e.trim()) {
                Ok(epc @ (Epc::Sgtin(_) | Epc::Sscc(_))) => epc,
                Ok(_) => {
                    return Err(invalid(
                        field,
                        format!("`{e}` is neither an SSCC nor an SGTIN"),
                    ))
                }
                Err(err) => return Err(invalid(field, err.to_string())),
            };
            if !seen.insert(epc.key()) {
                return Err(invalid(field, format!("`{e}` is listed twice")));
            }
            tops.push(epc);
        }
        let mut biz_transactions = Vec::new();
        for (i, bt) in self.biz_transactions.iter().enumerate() {
            let kind = bt.kind.trim();
            let word = kind
                .strip_prefix("urn:epcglobal:cbv:btt:")
                .unwrap_or(kind)
                .to_string();
            let unknown =
                crate::epcis::cbv::normalise(crate::epcis::Vocab::BizTransactionType, &word)
                    .unknown_cbv;
            if word.is_empty() || (unknown && !word.contains(':')) {
                return Err(invalid(
                    format!("biz_transactions[{i}].type"),
                    format!("`{kind}` is not a CBV business transaction type (po, inv, desadv, …) or a URI"),
                ));
            }
            let id = bt.id.trim();
            if id.is_empty() || id.chars().any(char::is_whitespace) {
                return Err(invalid(
                    format!("biz_transactions[{i}].id"),
                    "give the number without spaces (e.g. PO-5512) or a URI",
                ));
            }
            let uri = if id.contains(':') {
                id.to_string()
            } else {
                // CBV 1.2 §8.5: urn:epcglobal:cbv:bt:<GLN of the issuer>:<number>. A purchase
                // order is the buyer's, invoices and despatch advices are the seller's.
                let issuer = if word == "po" { &buyer } else { &seller };
                format!("urn:epcglobal:cbv:bt:{}:{id}", issuer.as_str())
            };
            biz_transactions.push((word, uri));
        }
        let ship_time = match &self.ship_time {
            None => now,
            Some(t) => DateTime::parse_from_rfc3339(t.trim())
                .map_err(|e| invalid("ship_time", format!("`{t}` is not an RFC 3339 time: {e}")))?
                .with_timezone(&Utc),
        };
        if ship_time > now + tolerance {
            return Err(invalid(
                "ship_time",
                format!("{ship_time} is in the future; ship what has left, at the time it left"),
            ));
        }
        let purpose = match self.purpose.as_deref().map(str::trim) {
            None | Some("sale") => Purpose::Sale,
            Some("return") => Purpose::Return,
            Some("quarantine") => Purpose::Quarantine,
            Some(p) => {
                return Err(invalid(
                    "purpose",
                    format!("`{p}` is not one of sale, return, quarantine"),
                ))
            }
        };
        let format = match self.format.as_deref() {
            None => Format::Xml12,
            Some(f) => f
                .parse()
                .map_err(|e: crate::epcis::write::UnknownValue| invalid("format", e.to_string()))?,
        };
        let legal_notice = self
            .legal_notice
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_LEGAL_NOTICE)
            .to_string();
        Ok(Shipment {
            buyer,
            seller,
            ship_from,
            ship_to,
            tops,
            biz_transactions,
            ship_time,
            purpose,
            format,
            legal_notice,
        })
    }
}

/// One reason a shipment cannot be made: what, which identifier, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Stable kebab-case reason (docs/SHIPMENTS.md lists them).
    pub reason: &'static str,
    /// The identifier concerned (EPC URN or Digital Link, GTIN, SGLN, GLN).
    pub identifier: String,
    pub detail: String,
    pub fix: String,
}

fn refusal(
    reason: &'static str,
    identifier: impl Into<String>,
    detail: impl Into<String>,
    fix: impl Into<String>,
) -> Refusal {
    Refusal {
        reason,
        identifier: identifier.into(),
        detail: detail.into(),
        fix: fix.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShipmentError {
    #[error(transparent)]
    Invalid(#[from] InvalidShipment),
    #[error("this server has no [organisation] (GLN): it cannot be the seller of a shipment")]
    NoOrganisation,
    /// The shipment cannot be made as asked; nothing was stored.
    #[error("the shipment was refused: {}", summary(.refusals, *.more))]
    Refused {
        refusals: Vec<Refusal>,
        /// Refusals beyond those listed.
        more: usize,
    },
    /// Our own capture refused the shipping event (its findings say why); nothing was stored.
    #[error("recording the shipping event failed with {} finding(s); nothing was stored", .0.errors.len())]
    CaptureRefused(Box<CaptureReport>),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("writing the document: {0}")]
    Write(#[from] std::io::Error),
    #[error("database error: {0}")]
    Store(#[from] diesel::result::Error),
}

fn summary(refusals: &[Refusal], more: usize) -> String {
    let first = refusals
        .first()
        .map(|r| format!("{} ({}): {} — {}", r.reason, r.identifier, r.detail, r.fix))
        .unwrap_or_default();
    match refusals.len() + more {
        0 | 1 => first,
        n => format!("{first} (and {} more)", n - 1),
    }
}

/// Collects refusals, keeping the first [`MAX_REFUSALS`].
#[derive(Default)]
struct Refusals {
    list: Vec<Refusal>,
    more: usize,
}

impl Refusals {
    fn push(&mut self, r: Refusal) {
        if self.list.len() < MAX_REFUSALS {
            self.list.push(r);
        } else {
            self.more += 1;
        }
    }

    fn into_result(self) -> Result<(), ShipmentError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(ShipmentError::Refused {
                refusals: self.list,
                more: self.more,
            })
        }
    }
}

/// What a shipment is made with: who we are, how our captures run, who asks.
pub struct Shipper<'a> {
    pub organisation: Option<&'a Organisation>,
    pub capture: &'a CaptureOptions,
    /// The audit actor (`partner:<id>` or `cli`).
    pub actor: String,
}

/// One serial of the shipped hierarchy.
#[derive(Debug, Clone)]
pub struct Node {
    pub key: String,
    /// As written in a 1.2 document (EPC URN).
    pub urn: String,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub commissioned_at: DateTime<Utc>,
    /// Depth below its top-level identifier (0 = shipped as such).
    pub depth: u32,
}

/// A container and what was in it at the ship time.
#[derive(Debug, Clone)]
pub struct Packing {
    pub parent: usize,
    pub children: Vec<usize>,
    /// The latest time one of these children was put into it.
    pub at: DateTime<Utc>,
    pub depth: u32,
}

/// A commissioning group: GTIN, lot, expiry.
pub type LotKey<'a> = (Option<&'a str>, Option<&'a str>, Option<NaiveDate>);

/// Everything the document is written from.
pub struct Plan {
    pub shipment: Shipment,
    pub buyer_partner_id: i64,
    /// Every serial shipped; the first `tops` are the top-level identifiers, in order.
    pub nodes: Vec<Node>,
    pub tops: usize,
    /// Innermost first.
    pub packings: Vec<Packing>,
    pub trade_items: Vec<q::TradeItemRow>,
    pub locations: Vec<q::LocationRow>,
    pub gcp: GcpResolver,
}

impl Plan {
    /// Serials without anything inside them (items; or containers shipped empty).
    pub fn item_count(&self) -> usize {
        let parents: HashSet<usize> = self.packings.iter().map(|p| p.parent).collect();
        (0..self.nodes.len())
            .filter(|i| !parents.contains(i))
            .count()
    }

    /// The commissioning groups: (GTIN, lot, expiry) -> node indices.
    pub fn lots(&self) -> BTreeMap<LotKey<'_>, Vec<usize>> {
        let mut m: BTreeMap<_, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            m.entry((n.gtin.as_deref(), n.lot.as_deref(), n.expiry))
                .or_default()
                .push(i);
        }
        m
    }
}

/// What a made shipment is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentView {
    pub id: Uuid,
    pub status: String,
    pub instance_identifier: String,
    pub document_id: Uuid,
    pub capture_document_id: Uuid,
    pub buyer_partner_id: i64,
    pub seller: String,
    pub buyer: String,
    pub ship_from: String,
    pub ship_to: String,
    pub ship_time: DateTime<Utc>,
    pub purpose: String,
    pub top_level: Vec<String>,
    pub biz_transactions: serde_json::Value,
    pub serial_count: i32,
    pub item_count: i32,
    pub lot_count: i32,
    pub format: String,
    pub byte_size: i64,
    pub event_count: i32,
    pub epc_count: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<q::ShipmentRow> for ShipmentView {
    fn from(r: q::ShipmentRow) -> Self {
        let uri = |k: &str| crate::query::rebuild::uri_of_key(k);
        ShipmentView {
            id: r.id,
            status: r.status,
            instance_identifier: r.instance_identifier,
            document_id: r.document_id,
            capture_document_id: r.capture_document_id,
            buyer_partner_id: r.buyer_partner_id,
            seller: r.seller_gln,
            buyer: r.buyer_gln,
            ship_from: uri(&r.ship_from),
            ship_to: uri(&r.ship_to),
            ship_time: r.ship_time,
            purpose: r.purpose,
            top_level: r.top_level.iter().map(|k| uri(k)).collect(),
            biz_transactions: r.biz_transactions,
            serial_count: r.serial_count,
            item_count: r.item_count,
            lot_count: r.lot_count,
            format: r.format,
            byte_size: r.byte_size,
            event_count: r.event_count,
            epc_count: r.epc_count,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// Makes a shipment (see the module documentation): checked, written, recorded, in one
/// transaction.
pub fn ship(
    conn: &mut PgConnection,
    shipper: &Shipper<'_>,
    request: &ShipmentRequest,
) -> Result<ShipmentView, ShipmentError> {
    let us = shipper.organisation.ok_or(ShipmentError::NoOrganisation)?;
    let shipment = request.parse(us, Utc::now(), shipper.capture.future_tolerance)?;
    let id = conn.transaction(|conn| {
        let plan = plan(conn, us, shipment)?;
        record(conn, shipper, &plan)
    })?;
    Ok(q::shipment(conn, id)?
        .expect("the shipment was just stored")
        .into())
}

/// The hierarchy at the ship time and every check (custody, flags, master data, buyer).
pub fn plan(
    conn: &mut PgConnection,
    us: &Organisation,
    shipment: Shipment,
) -> Result<Plan, ShipmentError> {
    let mut refusals = Refusals::default();
    let buyer_partner_id = check_buyer(conn, &shipment, &mut refusals)?;
    let at = shipment.ship_time;
    let top_keys: Vec<String> = shipment.tops.iter().map(Epc::key).collect();
    let below = q::ever_packed_below(conn, &top_keys, at)?;
    let (events, children) = q::packing_history(conn, &below, at)?;
    let containment = Containment::replay(&events, &children);

    // The tree below the tops as it stood, tops first.
    let mut order: Vec<(String, u32, Option<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (top, key) in shipment.tops.iter().zip(&top_keys) {
        if let Some(p) = containment.parent(key) {
            refusals.push(refusal(
                "inside-a-container",
                uri_of(top),
                format!(
                    "at the ship time it was inside {}; a receiver would not know it left it",
                    crate::query::rebuild::uri_of_key(p)
                ),
                "ship the outermost container, or unpack it (AggregationEvent DELETE) before the ship time",
            ));
        }
        index.insert(key.clone(), order.len());
        order.push((key.clone(), 0, None));
    }
    let mut packings: Vec<Packing> = Vec::new();
    let mut next = 0;
    while next < order.len() {
        let (key, depth) = (order[next].0.clone(), order[next].1);
        let mut kids = Vec::new();
        let mut latest = None;
        for c in containment.children(&key) {
            if index.contains_key(c) {
                continue; // a cycle in history (refused by capture rules): ignore
            }
            index.insert(c.to_string(), order.len());
            kids.push(order.len());
            latest = latest.max(containment.packed_at(c));
            order.push((c.to_string(), depth + 1, Some(next)));
        }
        if let Some(at) = latest {
            packings.push(Packing {
                parent: next,
                children: kids,
                at,
                depth,
            });
        }
        next += 1;
    }
    packings.sort_by(|a, b| b.depth.cmp(&a.depth).then(a.at.cmp(&b.at)));

    // Custody and flags.
    let keys: Vec<String> = order.iter().map(|(k, _, _)| k.clone()).collect();
    let mut facts: HashMap<String, q::SerialFacts> = q::serial_facts(conn, &keys)?
        .into_iter()
        .map(|f| (f.epc_key.clone(), f))
        .collect();
    for f in q::effective_facts(conn, &top_keys)? {
        facts.insert(f.epc_key.clone(), f);
    }
    let gtins: Vec<String> = {
        let set: std::collections::BTreeSet<String> =
            facts.values().filter_map(|f| f.gtin.clone()).collect();
        set.into_iter().collect()
    };
    let product_flags = q::active_product_flags(conn, &gtins)?;
    let ours = |owner: &str| {
        gs1::gln_of_key(owner) == Some(us.gln.as_str())
            || owner.strip_prefix("417") == Some(us.gln.as_str())
    };
    let mut gcp = GcpResolver::new();
    for p in &us.company_prefixes {
        let _ = gcp.learn(p);
    }
    for p in q::company_prefixes(conn)? {
        let _ = gcp.learn(&p);
    }
    let trade_items = q::trade_items(conn, &gtins)?;
    for t in &trade_items {
        if let Some(n) = t.company_prefix_length {
            if let Some(p) = t.gtin.get(1..1 + n as usize) {
                let _ = gcp.learn(p);
            }
        }
    }
    let mut nodes = Vec::with_capacity(order.len());
    let mut has_children = vec![false; order.len()];
    for p in &packings {
        has_children[p.parent] = true;
    }
    for (i, (key, depth, _)) in order.iter().enumerate() {
        let epc = Epc::from_key(key).ok();
        let shown = epc
            .as_ref()
            .map_or_else(|| key.clone(), Epc::to_canonical_digital_link);
        let Some(f) = facts.get(key) else {
            refusals.push(refusal(
                "not-in-custody",
                shown,
                "never commissioned or received here",
                "capture its commissioning (or the receipt of it) first, or leave it out",
            ));
            continue;
        };
        let status = SerialStatus::from_code(f.status);
        let custody = match status {
            Some(SerialStatus::Commissioned | SerialStatus::Packed | SerialStatus::Received) => {
                None
            }
            Some(SerialStatus::Shipped) => {
                Some("already shipped (its last shipping event left our custody)")
            }
            Some(SerialStatus::Dispensed) => Some("dispensed"),
            Some(SerialStatus::Decommissioned) => Some("decommissioned"),
            Some(SerialStatus::Destroyed) => Some("destroyed"),
            Some(SerialStatus::Unknown) | None => {
                Some("named by events here but never commissioned or received here")
            }
        };
        if let Some(why) = custody {
            refusals.push(refusal(
                "not-in-custody",
                shown.clone(),
                format!("not in our custody: {why}"),
                "leave it out of the shipment (or unpack it from its container before the ship time)",
            ));
        } else if let Some(owner) = f.owner.as_deref().filter(|o| !ours(o)) {
            refusals.push(refusal(
                "not-in-custody",
                shown.clone(),
                format!(
                    "owned by {}, not by us",
                    crate::query::rebuild::uri_of_key(owner)
                ),
                "only what we own can be sold; leave it out",
            ));
        }
        if shipment.purpose == Purpose::Sale {
            let mut flags: Vec<String> = [
                (f.recalled, "recalled"),
                (f.suspect, "suspect"),
                (f.illegitimate, "illegitimate"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| format!("the serial is flagged {n}"))
            .collect();
            if let Some(g) = &f.gtin {
                for pf in product_flags
                    .iter()
                    .filter(|pf| &pf.gtin == g && (pf.lot.is_none() || pf.lot == f.lot))
                {
                    flags.push(match &pf.lot {
                        Some(l) => format!("lot {l} is flagged {} ({})", pf.flag, pf.reason),
                        None => format!("the product is flagged {} ({})", pf.flag, pf.reason),
                    });
                }
            }
            for why in flags {
                refusals.push(refusal(
                    "flagged",
                    shown.clone(),
                    why,
                    "quarantine it and leave it out; a return or quarantine move says so with \"purpose\": \"return\" or \"quarantine\"",
                ));
            }
        }
        let Some(commissioned_at) = f.commissioned_at else {
            refusals.push(refusal(
                "not-commissioned",
                shown,
                "no commissioning event is stored for it, so its lot and expiry cannot be passed on",
                "capture its commissioning event (with ILMD) first",
            ));
            continue;
        };
        let leaf = !has_children[i];
        if leaf && KeyKind::of(key) == KeyKind::Sgtin && (f.lot.is_none() || f.expiry.is_none()) {
            refusals.push(refusal(
                "missing-lot-or-expiry",
                shown.clone(),
                "its commissioning carried no lot number or expiry date, which DSCSA transaction information needs",
                "correct its commissioning (error declaration and a corrected event with ILMD lotNumber and itemExpirationDate)",
            ));
        }
        let urn = match epc.as_ref().map(|e| e.to_epc_uri(&gcp)) {
            Some(Ok(u)) => u,
            _ => {
                refusals.push(refusal(
                    "unknown-company-prefix",
                    shown,
                    "the length of its GS1 company prefix is not known, so no EPC URN can be written",
                    "add the prefix to [organisation] company_prefixes, or give the trade item's company_prefix_length",
                ));
                continue;
            }
        };
        nodes.push(Node {
            key: key.clone(),
            urn,
            gtin: f.gtin.clone(),
            lot: f.lot.clone(),
            expiry: f.expiry,
            commissioned_at,
            depth: *depth,
        });
    }
    check_trade_items(&gtins, &trade_items, &mut refusals);
    let location_keys = location_keys(&shipment);
    let locations = q::locations(conn, &location_keys)?;
    check_locations(&location_keys, &locations, &mut refusals);
    for k in &location_keys {
        if Epc::from_key(k).and_then(|e| e.to_epc_uri(&gcp)).is_err() {
            refusals.push(refusal(
                "unknown-company-prefix",
                crate::query::rebuild::uri_of_key(k),
                "the length of the GLN's GS1 company prefix is not known, so no SGLN URN can be written",
                "add the prefix to [organisation] company_prefixes",
            ));
        }
    }
    refusals.into_result()?;
    Ok(Plan {
        shipment,
        buyer_partner_id,
        tops: top_keys.len(),
        nodes,
        packings,
        trade_items,
        locations,
        gcp,
    })
}

fn uri_of(epc: &Epc) -> String {
    epc.to_canonical_digital_link()
}

/// The SGLN keys the document names: ship-from, ship-to, and the two owning parties.
pub fn location_keys(s: &Shipment) -> Vec<String> {
    let party = |g: &Gln| Epc::Sgln(Sgln::new(*g, None).expect("no extension")).key();
    let mut keys = vec![
        party(&s.seller),
        Epc::Sgln(s.ship_from).key(),
        party(&s.buyer),
        Epc::Sgln(s.ship_to).key(),
    ];
    let mut seen = HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

fn check_buyer(
    conn: &mut PgConnection,
    s: &Shipment,
    refusals: &mut Refusals,
) -> Result<i64, ShipmentError> {
    let gln = s.buyer.as_str();
    let fix = "register the buyer as a trading partner (`dscsa-exchange partners add --gln … --role trading_partner`, or POST /admin/partners)";
    let Some(p) = pq::find(conn, gln)? else {
        refusals.push(refusal(
            "unknown-buyer",
            gln,
            "the buyer is not a registered trading partner",
            fix,
        ));
        return Ok(0);
    };
    if p.role != crate::partners::Role::TradingPartner.as_str() {
        refusals.push(refusal(
            "unknown-buyer",
            gln,
            format!(
                "{} is registered as {}, not as a trading partner",
                p.name, p.role
            ),
            fix,
        ));
    } else if !p.enabled {
        refusals.push(refusal(
            "unknown-buyer",
            gln,
            format!("trading partner {} is disabled", p.name),
            "enable the partner (`dscsa-exchange partners enable …`) if it may trade again",
        ));
    } else if matches!(p.atp_status.as_str(), "suspended" | "revoked") {
        refusals.push(refusal(
            "unknown-buyer",
            gln,
            format!(
                "trading partner {} is not an authorized trading partner (ATP status {})",
                p.name, p.atp_status
            ),
            "DSCSA allows transactions with authorized trading partners only",
        ));
    }
    Ok(p.id)
}

fn check_trade_items(gtins: &[String], rows: &[q::TradeItemRow], refusals: &mut Refusals) {
    for g in gtins {
        let missing: Vec<&str> = match rows.iter().find(|r| &r.gtin == g) {
            None => vec!["every attribute (no trade item)"],
            Some(r) => [
                ("ndc", &r.ndc),
                ("name", &r.name),
                ("strength", &r.strength),
                ("dosage_form", &r.dosage_form),
                ("pack_size (container size)", &r.pack_size),
                ("manufacturer", &r.manufacturer),
            ]
            .iter()
            .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
            .map(|(n, _)| *n)
            .collect(),
        };
        if !missing.is_empty() {
            refusals.push(refusal(
                "missing-master-data",
                g.clone(),
                format!("product master data of GTIN {g} lacks {}", missing.join(", ")),
                "capture an EPCClass master-data document for it with NDC, regulatedProductName, strengthDescription, dosageFormType, netContentDescription, manufacturerOfTradeItemPartyName",
            ));
        }
    }
}

fn check_locations(keys: &[String], rows: &[q::LocationRow], refusals: &mut Refusals) {
    for k in keys {
        let missing: Vec<&str> = match rows.iter().find(|r| &r.id == k) {
            None => vec!["every attribute (no location)"],
            Some(r) => [
                ("name", &r.name),
                ("street", &r.street),
                ("city", &r.city),
                ("country", &r.country),
            ]
            .iter()
            .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
            .map(|(n, _)| *n)
            .collect(),
        };
        if !missing.is_empty() {
            let shown = crate::query::rebuild::uri_of_key(k);
            refusals.push(refusal(
                "missing-master-data",
                shown,
                format!("location master data lacks {}", missing.join(", ")),
                "capture a Location master-data document for it with name, streetAddressOne, city, state, postalCode, countryCode",
            ));
        }
    }
}

/// An `io::Write` whose bytes the caller takes out between writes (the writer owns its
/// output; the connection that stores the chunks stays with the caller).
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stores a document's bytes as they are written, 1 MiB a chunk, and hashes them.
struct ChunkStore {
    buf: Shared,
    id: Uuid,
    seq: i32,
    bytes: i64,
    sha: openssl::sha::Sha256,
}

impl ChunkStore {
    fn drain(&mut self, conn: &mut PgConnection, all: bool) -> QueryResult<()> {
        let mut b = self.buf.0.borrow_mut();
        while b.len() >= CHUNK_BYTES || (all && !b.is_empty()) {
            let n = b.len().min(CHUNK_BYTES);
            q::insert_chunk(conn, self.id, self.seq, &b[..n])?;
            self.sha.update(&b[..n]);
            self.bytes += n as i64;
            self.seq += 1;
            b.drain(..n);
        }
        Ok(())
    }
}

fn format_code(f: Format) -> &'static str {
    match f {
        Format::Xml12 => "epcis-1.2-xml",
        Format::Xml2 => "epcis-2.0-xml",
        Format::JsonLd => "epcis-2.0-jsonld",
    }
}

/// Writes the document into the sent document's chunks, captures the shipping event, and
/// stores the shipment row; returns its id.
fn record(
    conn: &mut PgConnection,
    shipper: &Shipper<'_>,
    plan: &Plan,
) -> Result<Uuid, ShipmentError> {
    let s = &plan.shipment;
    let instance = Uuid::new_v4().to_string();
    let now = Utc::now();
    let header = document::header(plan, &instance, now);
    let document_id = Uuid::new_v4();
    cq::insert_document(
        conn,
        &cq::NewDocument {
            id: document_id,
            direction: "sent",
            format: format_code(s.format),
            status: DocumentStatus::Processing,
            error_behaviour: "rollback",
            sha256: vec![0; 32],
            byte_size: 0,
            partner_id: Some(plan.buyer_partner_id),
        },
    )?;
    let mut store = ChunkStore {
        buf: Shared::default(),
        id: document_id,
        seq: 0,
        bytes: 0,
        sha: openssl::sha::Sha256::new(),
    };
    let options = WriteOptions {
        gcp: plan.gcp.clone(),
        creation_date: Some(document::time_text(now)),
        ..WriteOptions::default()
    };
    let mut writer = DocumentWriter::new(store.buf.clone(), s.format, options.clone());
    writer.header(header.clone())?;
    for v in document::vocabularies(plan) {
        writer.vocabulary(&v)?;
    }
    let shipping = document::shipping_event(plan);
    let mut failed = None;
    document::for_each_event(plan, |ev| {
        writer.event(ev)?;
        if let Err(e) = store.drain(conn, false) {
            failed = Some(e);
            return Err(std::io::Error::other("storing the document failed"));
        }
        Ok(())
    })
    .map_err(|e| match failed.take() {
        Some(d) => ShipmentError::Store(d),
        None => ShipmentError::Write(e),
    })?;
    writer.event(&shipping)?;
    let (_, summary) = writer.finish()?;
    store.drain(conn, true)?;
    cq::finish_document(
        conn,
        document_id,
        DocumentStatus::Accepted,
        format_code(s.format),
        &store.sha.finish(),
        store.bytes,
        &cq::DocumentHeader {
            sender: Some(s.seller.as_str().to_string()),
            receiver: Some(s.buyer.as_str().to_string()),
            instance_identifier: Some(instance.clone()),
            creation_date: Some(now),
            // The TS we sent, in the form capture keeps a received one (tracing shows it).
            transaction_statement: header.transaction_statement.as_ref().map(
                |ts| serde_json::json!({ "affirmed": ts.affirmed, "legalNotice": ts.legal_notice }),
            ),
        },
        summary.events as i32,
        summary.epcs as i64,
        serde_json::json!([]),
        serde_json::json!([]),
    )?;

    // Our own record of the shipping event: the same header, the same event.
    let mut small = DocumentWriter::new(Vec::new(), Format::Xml12, options);
    small.header(header)?;
    small.event(&shipping)?;
    let (bytes, _) = small.finish()?;
    let mut opts = shipper.capture.clone();
    opts.document_id = None;
    opts.dry_run = false;
    opts.partner_id = None;
    let report = capture::capture(conn, &bytes[..], &opts)?;
    if report.outcome != Outcome::Accepted || !report.errors.is_empty() {
        return Err(ShipmentError::CaptureRefused(Box::new(report)));
    }

    let id = Uuid::new_v4();
    let top_level: Vec<String> = plan.nodes[..plan.tops]
        .iter()
        .map(|n| n.key.clone())
        .collect();
    let bts: Vec<serde_json::Value> = s
        .biz_transactions
        .iter()
        .map(|(t, i)| serde_json::json!({"type": t, "id": i}))
        .collect();
    q::insert_shipment(
        conn,
        &q::NewShipment {
            id,
            document_id,
            capture_document_id: report.document_id,
            instance_identifier: &instance,
            buyer_partner_id: plan.buyer_partner_id,
            seller_gln: s.seller.as_str(),
            buyer_gln: s.buyer.as_str(),
            ship_from: &Epc::Sgln(s.ship_from).key(),
            ship_to: &Epc::Sgln(s.ship_to).key(),
            ship_time: s.ship_time,
            purpose: s.purpose.as_str(),
            top_level: &top_level,
            biz_transactions: serde_json::Value::Array(bts),
            serial_count: plan.nodes.len() as i32,
            item_count: plan.item_count() as i32,
            lot_count: plan.lots().len() as i32,
            created_by: &shipper.actor,
        },
    )?;
    crate::store::audit::record(
        conn,
        &shipper.actor,
        "shipment.create",
        &format!("shipment:{id}"),
        serde_json::json!({"buyer": s.buyer.as_str(), "serials": plan.nodes.len()}),
    )?;
    Ok(id)
}

/// One shipment.
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ShipmentView>> {
    Ok(q::shipment(conn, id)?.map(Into::into))
}

/// The newest shipments first (at most `limit`) that the caller may see: every one for the
/// roles that read everything, a buyer's own otherwise.
pub fn list(
    conn: &mut PgConnection,
    limit: i64,
    partner_id: i64,
    role: crate::partners::Role,
) -> QueryResult<Vec<ShipmentView>> {
    let buyer = (!role.reads_everything()).then_some(partner_id);
    Ok(q::shipments(conn, limit, buyer)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The stored document of a shipment, chunk `seq` (`None` past the end).
pub fn document_chunk(
    conn: &mut PgConnection,
    document_id: Uuid,
    seq: i32,
) -> QueryResult<Option<Vec<u8>>> {
    q::document_chunk(conn, document_id, seq)
}

/// The content type of a stored document format.
pub fn content_type(format: &str) -> &'static str {
    match format {
        "epcis-2.0-jsonld" => "application/ld+json",
        _ => "application/xml",
    }
}
