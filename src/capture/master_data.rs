//! Master data: products (EPCClass) and locations upserted from the vocabularies a document
//! carries, and the rules that every GTIN and location of a DSCSA document has master data
//! (DSCSA-B-007, DSCSA-B-008).

use std::collections::HashSet;

use diesel::PgConnection;

use super::prepare::key_of;
use super::report::Findings;
use super::{rules, CaptureError};
use crate::epcis::Vocabulary;
use crate::store::capture as q;

/// DSCSA-B-007 and DSCSA-B-008 over the GTINs and locations of the stored events.
pub(super) fn check(
    conn: &mut PgConnection,
    gtins: &HashSet<String>,
    locations: &HashSet<String>,
    findings: &mut Findings,
) -> Result<(), CaptureError> {
    let gtins: Vec<String> = gtins.iter().cloned().collect();
    for g in q::gtins_without_master_data(conn, &gtins)? {
        findings.push(rules::gtin_without_master_data(&g));
    }
    let locations: Vec<String> = locations.iter().cloned().collect();
    for l in q::locations_without_master_data(conn, &locations)? {
        findings.push(rules::location_without_master_data(&l));
    }
    Ok(())
}

fn attr<'a>(v: &'a crate::epcis::VocabularyElement, name: &str) -> Option<&'a str> {
    v.attribute(&format!("urn:epcglobal:cbv:mda#{name}"))
        .or_else(|| v.attribute(&format!("https://ref.gs1.org/cbv/mda#{name}")))
        .or_else(|| v.attribute(&format!("cbvmda:{name}")))
}

/// Stores products (EPCClass) and locations from master data.
pub(super) fn store(conn: &mut PgConnection, vocab: &Vocabulary) -> Result<(), CaptureError> {
    let kind = vocab
        .vocabulary_type
        .rsplit([':', '/', '#'])
        .next()
        .unwrap_or("");
    for el in &vocab.elements {
        // An EPC URN shows its company prefix: kept, so that our own documents can write
        // EPC URNs of it again (shipments name the partners' SGLNs).
        if el.id.starts_with("urn:epc:") {
            if let Ok(epc) = crate::gs1::parse_epc_uri(&el.id) {
                if let Some(p) = epc
                    .gcp_length_hint()
                    .and_then(|n| epc.gcp_digits().get(..n as usize).map(str::to_string))
                {
                    q::learn_company_prefix(conn, &p)?;
                }
            }
        }
        let attributes: serde_json::Map<String, serde_json::Value> = el
            .attributes
            .iter()
            .map(|a| (a.id.clone(), serde_json::Value::String(a.value.clone())))
            .collect();
        match kind {
            "EPCClass" => {
                let gtin = match crate::gs1::classify(&el.id) {
                    Ok(crate::gs1::Identifier::Epc(crate::gs1::Epc::GtinClass(g))) => {
                        g.as_str().to_string()
                    }
                    Ok(crate::gs1::Identifier::Epc(crate::gs1::Epc::Lgtin(l))) => {
                        l.gtin().as_str().to_string()
                    }
                    _ => continue,
                };
                let ndc = attr(el, "additionalTradeItemIdentification");
                q::upsert_trade_item(
                    conn,
                    &q::TradeItem {
                        gtin: &gtin,
                        ndc,
                        name: attr(el, "regulatedProductName")
                            .or_else(|| attr(el, "tradeItemDescription")),
                        dosage_form: attr(el, "dosageFormType"),
                        strength: attr(el, "strengthDescription"),
                        pack_size: attr(el, "netContentDescription"),
                        manufacturer: attr(el, "manufacturerOfTradeItemPartyName"),
                        attributes: serde_json::Value::Object(attributes),
                    },
                )?;
            }
            "Location" | "BusinessLocation" | "ReadPoint" => {
                let id = key_of(&el.id)
                    .map(|k| k.key)
                    .unwrap_or_else(|| el.id.clone());
                let gln = crate::gs1::gln_of_key(&id).map(str::to_string);
                q::upsert_location(
                    conn,
                    &q::Location {
                        id: &id,
                        gln: gln.as_deref(),
                        name: attr(el, "name"),
                        street: attr(el, "streetAddressOne"),
                        city: attr(el, "city"),
                        state: attr(el, "state"),
                        postal_code: attr(el, "postalCode"),
                        country: attr(el, "countryCode"),
                        attributes: serde_json::Value::Object(attributes),
                    },
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}
