//! The server settings the private instance is started with, and the check for lz4 WAL
//! compression in the installed binaries.

use std::path::Path;
use std::process::Command;

/// Server settings the private instance is started with, beyond PostgreSQL's defaults. All keep
/// it durable (fsync, synchronous_commit and full_page_writes stay on); they make a capture write
/// less WAL and wait less for it (docs/ARCHITECTURE.md, "Capture performance"):
/// - `wal_compression`: full-page images compressed (lz4 where the server has it; pglz costs
///   more CPU than it saves here, so it stays off without lz4);
/// - `wal_buffers`: a large capture fills the default 4 MB (1/32 of shared_buffers) many times
///   over, and each time the backend writes WAL itself;
/// - `max_wal_size`, `min_wal_size`, `checkpoint_timeout`: fewer checkpoints, so fewer pages
///   are logged whole after one, and WAL segments are recycled instead of created and zeroed.
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("wal_buffers", "64MB"),
    ("max_wal_size", "4GB"),
    ("min_wal_size", "1GB"),
    ("checkpoint_timeout", "15min"),
];

/// [`SERVER_SETTINGS`] as `postgres` command-line options, with `wal_compression=lz4` when the
/// server binaries are PostgreSQL 15 or later built with lz4.
pub(super) fn server_settings(bin_dir: &Path) -> String {
    let mut out: String = SERVER_SETTINGS
        .iter()
        .map(|(k, v)| format!(" -c {k}={v}"))
        .collect();
    if server_has_lz4_wal(bin_dir) {
        out.push_str(" -c wal_compression=lz4");
    }
    out
}

fn server_has_lz4_wal(bin_dir: &Path) -> bool {
    let output = |bin: &str, arg: &str| {
        Command::new(bin_dir.join(bin))
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    // "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    let major = output("postgres", "--version")
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    major >= 15 && output("pg_config", "--configure").contains("--with-lz4")
}
