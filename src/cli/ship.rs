//! `dscsa-exchange ship …`: make a DSCSA shipment (docs/SHIPMENTS.md), as `POST /shipments`
//! does: the same checks, the same document, the shipping event recorded. Prints the shipment
//! as JSON; `-o FILE` also writes its document.

use std::io::Write;
use std::path::PathBuf;

use super::db::with_db;
use super::CliError;
use crate::capture::CaptureOptions;
use crate::config::Settings;
use crate::shipments::{self, BizTransactionRequest, ShipmentError, ShipmentRequest, Shipper};

#[derive(Debug, clap::Args)]
pub struct ShipArgs {
    /// The buyer's GLN (a registered trading partner).
    #[arg(long)]
    pub buyer: String,
    /// Ship-from SGLN (EPC URN, Digital Link or element string).
    #[arg(long = "from")]
    pub ship_from: String,
    /// Ship-to SGLN.
    #[arg(long = "to")]
    pub ship_to: String,
    /// A shipped top-level SSCC or SGTIN (repeatable).
    #[arg(long = "epc", required = true)]
    pub epcs: Vec<String>,
    /// Purchase order number (the buyer's) or URI (repeatable).
    #[arg(long)]
    pub po: Vec<String>,
    /// Invoice number (ours) or URI (repeatable).
    #[arg(long)]
    pub invoice: Vec<String>,
    /// Despatch advice number (ours) or URI (repeatable).
    #[arg(long)]
    pub desadv: Vec<String>,
    /// Ship time, RFC 3339 (default: now).
    #[arg(long)]
    pub time: Option<String>,
    /// sale (default), return or quarantine.
    #[arg(long)]
    pub purpose: Option<String>,
    /// xml12 (default), xml2 or jsonld.
    #[arg(long)]
    pub format: Option<String>,
    /// Write the document to this file too.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
}

impl ShipArgs {
    fn request(&self) -> ShipmentRequest {
        let bts = [
            ("po", &self.po),
            ("inv", &self.invoice),
            ("desadv", &self.desadv),
        ]
        .into_iter()
        .flat_map(|(kind, ids)| {
            ids.iter().map(move |id| BizTransactionRequest {
                kind: kind.into(),
                id: id.clone(),
            })
        })
        .collect();
        ShipmentRequest {
            buyer: self.buyer.clone(),
            seller: None,
            ship_from: self.ship_from.clone(),
            ship_to: self.ship_to.clone(),
            epcs: self.epcs.clone(),
            biz_transactions: bts,
            ship_time: self.time.clone(),
            purpose: self.purpose.clone(),
            format: self.format.clone(),
            legal_notice: None,
        }
    }
}

fn failure(e: ShipmentError) -> CliError {
    match &e {
        ShipmentError::Invalid(_) => CliError::usage(e),
        ShipmentError::NoOrganisation => CliError::config(e),
        ShipmentError::Refused { refusals, more } => {
            let mut lines = vec!["the shipment was refused; nothing was stored:".to_string()];
            for r in refusals {
                lines.push(format!(
                    "  {} {}: {} (fix: {})",
                    r.reason, r.identifier, r.detail, r.fix
                ));
            }
            if *more > 0 {
                lines.push(format!("  … and {more} more"));
            }
            CliError::failure(lines.join("\n"))
        }
        _ => CliError::failure(e),
    }
}

pub fn run(settings: &Settings, args: ShipArgs) -> Result<(), CliError> {
    let request = args.request();
    // As `serve`: the configured organisation, or the development identity.
    let us = super::serve::organisation(settings)?;
    let mut capture = CaptureOptions::from_settings(settings);
    capture.serial_key = crate::serials::SerialKey::load(&settings.serials.key)
        .ok()
        .map(std::sync::Arc::new);
    with_db(settings, |conn| {
        let shipper = Shipper {
            organisation: Some(&us),
            capture: &capture,
            actor: super::actor(),
        };
        let view = shipments::ship(conn, &shipper, &request).map_err(failure)?;
        if let Some(path) = &args.output {
            let mut f = std::fs::File::create(path)
                .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
            let mut seq = 0;
            while let Some(chunk) =
                shipments::document_chunk(conn, view.document_id, seq).map_err(CliError::failure)?
            {
                f.write_all(&chunk)
                    .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
                seq += 1;
            }
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&view).map_err(CliError::failure)?
        );
        Ok(())
    })
}
