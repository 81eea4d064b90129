//! `dscsa-exchange serials pool create|list`, `serials allocate`, `serials reconcile`,
//! `serials issued`: the same use cases as `/serials/…`, on the configured database (attached
//! to the running server's private instance, like `import`).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::db::with_db;
use super::CliError;
use crate::config::Settings;
use crate::gs1::Gs1Error;
use crate::serials::output::{write_issued, Output};
use crate::serials::{self, AllocationRequest, NewPool, Requester, SerialKey};

#[derive(Debug, Subcommand)]
pub enum SerialsCommand {
    /// Serial pools (one per GTIN).
    Pool {
        #[command(subcommand)]
        cmd: PoolCommand,
    },
    /// Allocate serials from a GTIN's pool and print them.
    Allocate {
        #[arg(long)]
        gtin: String,
        #[arg(long)]
        count: u32,
        /// Purchase order, work order or packaging line (kept with the allocation).
        #[arg(long)]
        purpose: Option<String>,
        /// json, csv or text (one serial a line).
        #[arg(long, default_value = "text")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Allocated vs commissioned vs unused serials of a pool, per allocation.
    Reconcile {
        #[arg(long)]
        gtin: String,
    },
    /// Was this serial issued here? (issued, never_issued, not_our_pool)
    Issued {
        #[arg(long)]
        gtin: String,
        #[arg(long)]
        serial: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Create the serial pool of a GTIN.
    Create {
        #[arg(long)]
        gtin: String,
        /// numeric:N (N digits) or alnum:N (0-9A-Z), N ≤ 20; the first character is never 0.
        #[arg(long, default_value = "numeric:12")]
        format: String,
        /// item, pack, case or pallet.
        #[arg(long, default_value = "item")]
        level: String,
        /// Serials planned over the pool's life (default: the most the format allows).
        #[arg(long)]
        capacity: Option<u64>,
        /// Largest allocation one request may take (default 500000).
        #[arg(long)]
        max_per_request: Option<u32>,
        /// Serials one partner may take over the pool's life.
        #[arg(long)]
        partner_quota: Option<u64>,
        /// A trading partner (GLN or id) that may allocate; repeat for several.
        #[arg(long = "partner")]
        partners: Vec<String>,
    },
    /// List the pools.
    List,
}

fn key(settings: &Settings) -> Result<SerialKey, CliError> {
    SerialKey::load(&settings.serials.key).map_err(CliError::config)
}

fn gtin(s: &str) -> Result<crate::gs1::Gtin, CliError> {
    s.parse()
        .map_err(|e: Gs1Error| CliError::usage(format!("--gtin: {e}")))
}

pub fn run(settings: &Settings, cmd: SerialsCommand) -> Result<(), CliError> {
    match cmd {
        SerialsCommand::Pool {
            cmd:
                PoolCommand::Create {
                    gtin: g,
                    format,
                    level,
                    capacity,
                    max_per_request,
                    partner_quota,
                    partners,
                },
        } => {
            let key = key(settings)?;
            let gtin = gtin(&g)?;
            let format = format
                .parse()
                .map_err(|e| CliError::usage(format!("--format: {e}")))?;
            let level = level
                .parse()
                .map_err(|e| CliError::usage(format!("--level: {e}")))?;
            let pool = with_db(settings, |conn| {
                let mut ids = Vec::new();
                for p in &partners {
                    let id = crate::partners::find_id(conn, p)
                        .map_err(CliError::failure)?
                        .ok_or_else(|| {
                            CliError::failure(format!("--partner: no partner with GLN or id `{p}`"))
                        })?;
                    ids.push(id);
                }
                serials::create_pool(
                    conn,
                    &key,
                    NewPool {
                        gtin,
                        format,
                        packaging_level: level,
                        capacity,
                        max_per_request,
                        partner_quota,
                        partner_ids: ids,
                    },
                    "cli",
                )
                .map_err(CliError::failure)
            })?;
            println!(
                "pool {} for GTIN {}: {} ({} serials, at most {} to be issued, key {})",
                pool.id, pool.gtin, pool.format, pool.domain, pool.capacity, pool.key_id
            );
            Ok(())
        }
        SerialsCommand::Pool {
            cmd: PoolCommand::List,
        } => {
            let pools = with_db(settings, |conn| {
                serials::list_pools(conn).map_err(CliError::failure)
            })?;
            println!("id\tgtin\tformat\tallocated\tcapacity\tpartners");
            for p in pools {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{:?}",
                    p.id, p.gtin, p.format, p.allocated, p.capacity, p.partner_ids
                );
            }
            Ok(())
        }
        SerialsCommand::Allocate {
            gtin: g,
            count,
            purpose,
            format,
            output,
        } => {
            let key = key(settings)?;
            let out = match format.as_str() {
                "json" => Output::Json,
                "csv" => Output::Csv,
                "text" => Output::Text,
                other => {
                    return Err(CliError::usage(format!(
                        "--format: `{other}` is not json, csv or text"
                    )))
                }
            };
            let request = AllocationRequest {
                gtin: gtin(&g)?,
                count,
                purpose,
            };
            let issued = with_db(settings, |conn| {
                serials::allocate(conn, &key, &request, &Requester::Operator)
                    .map_err(CliError::failure)
            })?;
            let mut sink: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut failed = None;
            write_issued(&issued, out, |chunk| match sink.write_all(&chunk) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            });
            if let Some(e) = failed.or_else(|| sink.flush().err()) {
                return Err(CliError::failure(format!(
                    "allocation {} was recorded, but writing it failed ({e}); fetch it again with GET /serials/allocations/{}",
                    issued.allocation.id, issued.allocation.id
                )));
            }
            eprintln!(
                "allocation {}: {} serials of GTIN {} (counters {}..{})",
                issued.allocation.id,
                issued.allocation.count,
                issued.allocation.gtin,
                issued.allocation.first_counter,
                issued.allocation.first_counter + i64::from(issued.allocation.count)
            );
            Ok(())
        }
        SerialsCommand::Reconcile { gtin: g } => {
            let key = key(settings)?;
            let gtin = gtin(&g)?;
            let report = with_db(settings, |conn| {
                serials::reconcile(conn, &key, &gtin).map_err(CliError::failure)
            })?;
            println!(
                "GTIN {} ({}): {} allocated of {}, {} commissioned, {} unused; {} commissioned but never issued, {} of another format",
                report.gtin, report.format, report.allocated, report.capacity, report.commissioned,
                report.unused, report.never_issued, report.other_format
            );
            println!("allocation\tpartner\tcount\tcommissioned\tunused\tpurpose");
            for a in &report.allocations {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    a.allocation_id,
                    a.partner_id.map(|p| p.to_string()).unwrap_or("-".into()),
                    a.count,
                    a.commissioned,
                    a.unused,
                    a.purpose.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        SerialsCommand::Issued { gtin: g, serial } => {
            let key = key(settings)?;
            let gtin = gtin(&g)?;
            let serial = serial
                .parse()
                .map_err(|e: Gs1Error| CliError::usage(format!("--serial: {e}")))?;
            let answer = with_db(settings, |conn| {
                serials::was_issued(conn, &key, &gtin, &serial).map_err(CliError::failure)
            })?;
            match answer {
                serials::WasIssued::Issued {
                    allocation_id,
                    partner_id,
                } => println!(
                    "issued (allocation {allocation_id}{})",
                    partner_id
                        .map(|p| format!(", partner {p}"))
                        .unwrap_or_default()
                ),
                serials::WasIssued::NeverIssued => println!("never issued"),
                serials::WasIssued::NotOurPool => println!("not of a pool of this server"),
            }
            Ok(())
        }
    }
}
