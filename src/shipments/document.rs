//! The pieces of a shipment's EPCIS document (GS1 US DSCSA profile, standards.md §2.2, §2.9),
//! made from a [`Plan`] for the writers of `epcis::write`: the header (SBDH and transaction
//! statement), the master data (one EPCClass per GTIN, one Location per SGLN), and the events
//! in document order: commissioning per lot with its own ILMD, packing innermost first, then
//! the shipping event. Events are made one at a time, so memory holds one of them.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Plan;
use crate::epcis::cbv::{self, Vocab};
use crate::epcis::{
    Action, BizTransaction, CbvTerm, DocumentIdentification, Event, EventType, ExtensionElement,
    Header, Ilmd, LotSource, MasterDataAttribute, Partner, Position, Sbdh, SourceDest, Timestamp,
    TransactionStatement, Vocabulary, VocabularyElement,
};
use crate::gs1::{Epc, Gln, Gtin, Ndc, Sgln};

/// EPCs per commissioning event: a lot of 100,000 items is written as ten events with the
/// same ILMD, so that no event holds more than this many identifiers in memory.
pub const EPCS_PER_EVENT: usize = 10_000;

const CBVMDA: &str = "urn:epcglobal:cbv:mda";

/// `2025-05-01T15:00:00.000Z`.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        text: time_text(t),
        value: Some(t.fixed_offset()),
    }
}

fn sgln_urn(plan: &Plan, s: Sgln) -> String {
    Epc::Sgln(s)
        .to_epc_uri(&plan.gcp)
        .unwrap_or_else(|_| Epc::Sgln(s).to_canonical_digital_link())
}

fn party_urn(plan: &Plan, g: Gln) -> String {
    sgln_urn(plan, Sgln::new(g, None).expect("no extension"))
}

/// SBDH (sender = seller, receiver = buyer, as SGLNs of their GLNs) and the transaction
/// statement.
pub fn header(plan: &Plan, instance: &str, now: DateTime<Utc>) -> Header {
    let s = &plan.shipment;
    let partner = |g: Gln| Partner {
        identifier: party_urn(plan, g),
        authority: Some("SGLN".into()),
        other: Vec::new(),
    };
    let ts = TransactionStatement {
        affirmed: Some(true),
        legal_notice: Some(s.legal_notice.clone()),
    };
    Header {
        sbdh: Some(Sbdh {
            header_version: Some("1.0".into()),
            senders: vec![partner(s.seller)],
            receivers: vec![partner(s.buyer)],
            document_identification: DocumentIdentification {
                standard: Some("EPCglobal".into()),
                type_version: Some("1.0".into()),
                instance_identifier: Some(instance.into()),
                document_type: Some("Events".into()),
                multiple_type: None,
                creation_date_and_time: Some(timestamp(now)),
            },
            other: Vec::new(),
        }),
        extensions: vec![ts.to_element()],
        transaction_statement: Some(ts),
        guideline_version: None,
        position: Position::default(),
    }
}

fn attribute(name: &str, value: &str) -> MasterDataAttribute {
    MasterDataAttribute {
        id: format!("{CBVMDA}#{name}"),
        value: value.to_string(),
        elements: Vec::new(),
    }
}

/// The NDC as the GS1 US R1.2 profile writes it: 11 digits without hyphens, type FDA_NDC_11;
/// a stored value that does not parse as an NDC is written as stored.
fn ndc_attributes(stored: &str) -> [MasterDataAttribute; 2] {
    let eleven = Ndc::parse(stored)
        .ok()
        .and_then(|n| n.to_ndc11().ok())
        .map(|s| s.replace('-', ""))
        .unwrap_or_else(|| stored.to_string());
    [
        attribute("additionalTradeItemIdentification", &eleven),
        attribute("additionalTradeItemIdentificationTypeCode", "FDA_NDC_11"),
    ]
}

/// One EPCClass per GTIN shipped (§2.3) and one Location per SGLN named (§2.4).
pub fn vocabularies(plan: &Plan) -> Vec<Vocabulary> {
    let classes = plan
        .trade_items
        .iter()
        .filter_map(|t| {
            let gtin: Gtin = t.gtin.parse().ok()?;
            let class = Epc::GtinClass(gtin);
            let id = class
                .to_epc_uri(&plan.gcp)
                .unwrap_or_else(|_| class.to_canonical_digital_link());
            let mut attributes = Vec::new();
            if let Some(n) = &t.ndc {
                attributes.extend(ndc_attributes(n));
            }
            for (name, v) in [
                ("regulatedProductName", &t.name),
                ("manufacturerOfTradeItemPartyName", &t.manufacturer),
                ("dosageFormType", &t.dosage_form),
                ("strengthDescription", &t.strength),
                ("netContentDescription", &t.pack_size),
            ] {
                if let Some(v) = v {
                    attributes.push(attribute(name, v));
                }
            }
            Some(VocabularyElement {
                id,
                attributes,
                children: Vec::new(),
            })
        })
        .collect();
    let locations = plan
        .locations
        .iter()
        .filter_map(|l| {
            let Ok(Epc::Sgln(s)) = Epc::from_key(&l.id) else {
                return None;
            };
            let mut attributes = Vec::new();
            for (name, v) in [
                ("name", &l.name),
                ("streetAddressOne", &l.street),
                ("city", &l.city),
                ("state", &l.state),
                ("postalCode", &l.postal_code),
                ("countryCode", &l.country),
            ] {
                if let Some(v) = v {
                    attributes.push(attribute(name, v));
                }
            }
            Some(VocabularyElement {
                id: sgln_urn(plan, s),
                attributes,
                children: Vec::new(),
            })
        })
        .collect();
    vec![
        Vocabulary {
            vocabulary_type: "urn:epcglobal:epcis:vtype:EPCClass".into(),
            elements: classes,
            position: Position::default(),
        },
        Vocabulary {
            vocabulary_type: "urn:epcglobal:epcis:vtype:Location".into(),
            elements: locations,
            position: Position::default(),
        },
    ]
}

fn event(event_type: EventType, at: DateTime<Utc>, index: u64) -> Event {
    let mut ev = Event::new(event_type, index, Position::default());
    ev.event_time = Some(timestamp(at));
    ev.event_time_zone_offset = Some("+00:00".into());
    ev
}

fn ilmd_element(name: &str, text: String) -> ExtensionElement {
    ExtensionElement {
        namespace: CBVMDA.into(),
        prefix: "cbvmda".into(),
        local_name: name.into(),
        text,
        ..ExtensionElement::default()
    }
}

/// Calls `f` with every event before the shipping one, in document order: one commissioning
/// event per (GTIN, lot, expiry) with that ILMD (of at most [`EPCS_PER_EVENT`] EPCs each, at
/// the earliest commissioning time among them), then the packing events that build the
/// hierarchy as it stood at the ship time, innermost first.
pub fn for_each_event(
    plan: &Plan,
    mut f: impl FnMut(&Event) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut index = 0;
    let mut lots: Vec<_> = plan.lots().into_iter().collect();
    lots.sort_by_key(|(_, members)| members.iter().map(|&i| plan.nodes[i].commissioned_at).min());
    for ((_, lot, expiry), members) in lots {
        for chunk in members.chunks(EPCS_PER_EVENT) {
            let at = chunk
                .iter()
                .map(|&i| plan.nodes[i].commissioned_at)
                .min()
                .expect("a chunk is never empty");
            let mut ev = event(EventType::Object, at, index);
            index += 1;
            ev.epc_list = chunk.iter().map(|&i| plan.nodes[i].urn.clone()).collect();
            ev.action = Some(Action::Add);
            ev.biz_step = Some(CbvTerm::Standard("commissioning"));
            ev.disposition = Some(CbvTerm::Standard("active"));
            let mut ilmd = Ilmd::default();
            if let Some(l) = lot {
                ilmd.lot_number = Some(l.to_string());
                ilmd.lot_source = Some(LotSource::Cbvmda);
                ilmd.elements.push(ilmd_element("lotNumber", l.to_string()));
            }
            if let Some(x) = expiry {
                ilmd.item_expiration_date = Some(x);
                ilmd.elements.push(ilmd_element(
                    "itemExpirationDate",
                    x.format("%Y-%m-%d").to_string(),
                ));
            }
            ev.ilmd = ilmd;
            f(&ev)?;
        }
    }
    for p in &plan.packings {
        let mut ev = event(EventType::Aggregation, p.at, index);
        index += 1;
        ev.parent_id = Some(plan.nodes[p.parent].urn.clone());
        ev.child_epcs = p
            .children
            .iter()
            .map(|&i| plan.nodes[i].urn.clone())
            .collect();
        ev.action = Some(Action::Add);
        ev.biz_step = Some(CbvTerm::Standard("packing"));
        ev.disposition = Some(CbvTerm::Standard("in_progress"));
        f(&ev)?;
    }
    Ok(())
}

/// The shipping event: the top-level identifiers, with the business transactions and the
/// owning parties and locations of both sides (§2.7).
pub fn shipping_event(plan: &Plan) -> Event {
    let s = &plan.shipment;
    let mut ev = event(EventType::Object, s.ship_time, u64::MAX);
    ev.epc_list = plan.nodes[..plan.tops]
        .iter()
        .map(|n| n.urn.clone())
        .collect();
    ev.action = Some(Action::Observe);
    ev.biz_step = Some(CbvTerm::Standard("shipping"));
    ev.disposition = Some(CbvTerm::Standard("in_transit"));
    ev.read_point = Some(sgln_urn(plan, s.ship_from));
    ev.biz_transactions = s
        .biz_transactions
        .iter()
        .map(|(t, id)| BizTransaction {
            transaction_type: Some(cbv::normalise(Vocab::BizTransactionType, t).term),
            id: id.clone(),
        })
        .collect();
    let sd = |t: &'static str, id: String| SourceDest {
        sd_type: CbvTerm::Standard(t),
        id,
    };
    ev.sources = vec![
        sd("owning_party", party_urn(plan, s.seller)),
        sd("location", sgln_urn(plan, s.ship_from)),
    ];
    ev.destinations = vec![
        sd("owning_party", party_urn(plan, s.buyer)),
        sd("location", sgln_urn(plan, s.ship_to)),
    ];
    ev
}
