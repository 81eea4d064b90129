//! `dscsa-exchange labels --allocation ID --lot L --exp YYMMDD (--out-dir DIR | --sheet FILE)`:
//! the pack labels of an allocation, one image per serial or one printable SVG sheet.

use std::path::PathBuf;

use clap::Args;

use super::db::with_db;
use super::CliError;
use crate::config::Settings;
use crate::gs1::{Expiry, Gs1Error, Lot, SerialNumber};
use crate::serials::label::LabelData;
use crate::serials::{self, Requester, SerialKey};

/// Labels on one sheet at most (a sheet is for a print run, not for a whole allocation).
const MAX_SHEET: i32 = 2_000;

#[derive(Debug, Args)]
pub struct LabelsArgs {
    /// The allocation whose serials to print.
    #[arg(long)]
    allocation: i64,
    /// Lot (AI 10).
    #[arg(long)]
    lot: String,
    /// Expiry, YYMMDD (AI 17).
    #[arg(long)]
    exp: String,
    /// Write one file per serial into this folder (created if missing).
    #[arg(long, conflicts_with = "sheet")]
    out_dir: Option<PathBuf>,
    /// svg or png (with --out-dir).
    #[arg(long, default_value = "svg")]
    format: String,
    /// Write every label onto one SVG sheet (4 labels a row).
    #[arg(long)]
    sheet: Option<PathBuf>,
}

pub fn run(settings: &Settings, args: LabelsArgs) -> Result<(), CliError> {
    let lot: Lot = args
        .lot
        .parse()
        .map_err(|e: Gs1Error| CliError::usage(format!("--lot: {e}")))?;
    let expiry: Expiry = args
        .exp
        .parse()
        .map_err(|e: Gs1Error| CliError::usage(format!("--exp: {e}")))?;
    let png = match args.format.as_str() {
        "svg" => false,
        "png" => true,
        other => {
            return Err(CliError::usage(format!(
                "--format: `{other}` is not svg or png"
            )))
        }
    };
    if args.out_dir.is_none() && args.sheet.is_none() {
        return Err(CliError::usage("give --out-dir DIR or --sheet FILE.svg"));
    }
    let key = SerialKey::load(&settings.serials.key).map_err(CliError::config)?;
    let issued = with_db(settings, |conn| {
        serials::allocation(conn, &key, args.allocation, &Requester::Operator)
            .map_err(CliError::failure)
    })?;
    if args.sheet.is_some() && issued.allocation.count > MAX_SHEET {
        return Err(CliError::usage(format!(
            "allocation {} has {} serials; a sheet holds at most {MAX_SHEET}: use --out-dir",
            issued.allocation.id, issued.allocation.count
        )));
    }
    let gtin = issued
        .allocation
        .gtin
        .parse()
        .map_err(|e: Gs1Error| CliError::failure(e.to_string()))?;
    let mut labels = Vec::new();
    let mut failure = None;
    issued.for_each(|s| {
        if failure.is_some() {
            return;
        }
        let serial: Result<SerialNumber, _> = std::str::from_utf8(s)
            .map_err(|e| e.to_string())
            .and_then(|s| s.parse().map_err(|e: Gs1Error| e.to_string()));
        match serial {
            Ok(serial) => labels.push(LabelData {
                gtin,
                serial,
                lot: Some(lot),
                expiry: Some(expiry),
                ndc: None,
            }),
            Err(e) => failure = Some(e),
        }
    });
    if let Some(e) = failure {
        return Err(CliError::failure(e));
    }
    let fail = |e: &dyn std::fmt::Display| CliError::failure(e.to_string());
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| fail(&format!("{}: {e}", dir.display())))?;
        for l in &labels {
            let name = format!(
                "{}-{}.{}",
                l.gtin.as_str(),
                l.serial.as_str(),
                if png { "png" } else { "svg" }
            );
            let bytes = if png {
                l.png().map_err(|e| fail(&e))?
            } else {
                l.svg().map_err(|e| fail(&e))?.into_bytes()
            };
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| fail(&format!("{}: {e}", path.display())))?;
        }
        println!("{} labels written to {}", labels.len(), dir.display());
    }
    if let Some(sheet) = &args.sheet {
        let svg = sheet_svg(&labels).map_err(|e| fail(&e))?;
        std::fs::write(sheet, svg).map_err(|e| fail(&format!("{}: {e}", sheet.display())))?;
        println!("{} labels on {}", labels.len(), sheet.display());
    }
    Ok(())
}

/// Labels laid out 4 a row, each label's own SVG nested at its place.
fn sheet_svg(labels: &[LabelData]) -> Result<String, crate::serials::label::LabelError> {
    const PER_ROW: usize = 4;
    let rendered: Vec<String> = labels.iter().map(|l| l.svg()).collect::<Result<_, _>>()?;
    // Every label of one allocation has the same size (same GTIN, lot, expiry, serial length).
    let size = |svg: &str, attr: &str| -> usize {
        let start = svg
            .find(&format!("{attr}=\""))
            .map_or(0, |i| i + attr.len() + 2);
        svg[start..]
            .split('"')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let w = rendered.iter().map(|s| size(s, "width")).max().unwrap_or(0) + 16;
    let h = rendered
        .iter()
        .map(|s| size(s, "height"))
        .max()
        .unwrap_or(0)
        + 16;
    let rows = rendered.len().div_ceil(PER_ROW);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
        w * PER_ROW,
        h * rows.max(1)
    );
    for (i, svg) in rendered.iter().enumerate() {
        let (x, y) = ((i % PER_ROW) * w + 8, (i / PER_ROW) * h + 8);
        out.push_str(&svg.replacen("<svg ", &format!("<svg x=\"{x}\" y=\"{y}\" "), 1));
    }
    out.push_str("</svg>\n");
    Ok(out)
}
