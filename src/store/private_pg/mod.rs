//! The private PostgreSQL instance: what the server runs on when no `DATABASE_URL` is set.
//!
//! Layout under the root folder (by default `./data/postgres`):
//! `pgdata/` (the cluster), `run/` (the Unix socket; no TCP port is opened, so it never collides
//! with a system server), `postgres.log`.
//!
//! Lifecycle: [`PrivatePostgres::ensure_running`] initialises the cluster if needed, then either
//! attaches to an instance that is already running (started by `serve`, say) or starts one. An
//! instance this process started is stopped when the handle is dropped or [`PrivatePostgres::stop`]
//! is called; one it merely attached to is left running for its owner.
//!
//! `initdb` and `postgres` refuse to run as root. As root we run them as the `postgres` system
//! user (created by the Debian packages) and give it the folder; as anyone else, as that user.
//!
//! **Out of that user's reach.** As root, the configured folder may sit below a folder the
//! `postgres` user cannot traverse (a checkout under `/root`, a `mktemp -d` folder: mode 0700).
//! Loosening the user's folders is not ours to do, so the cluster is *relocated*: it goes to
//! `/var/lib/dscsa-exchange/private-postgres/pg-<hash of the configured folder>` (the
//! `private-postgres` folder root-owned, mode 0711: the `postgres` user may pass through it but
//! not list it; the cluster folder owned by `postgres`, mode 0700), and the configured folder
//! keeps a file `relocated-to` naming it, which every later command follows. A cluster already initialised in place is never moved:
//! if its folder becomes unreachable the error names the folder that blocks and the fix.
//!
//! **Owner.** The file `owner` in the cluster folder names the process that will stop the
//! instance (`pid start-time role`). A process that finds the instance running reads it: the
//! owner alive, it attaches and leaves the instance alone; the owner gone (killed with SIGKILL,
//! out of memory), it *adopts* the instance and stops it when it exits; a `serve` that finds a
//! short-lived command (`import`, `migrate`) as owner takes over, so that the command does not
//! stop the instance under the server. Reading and changing the owner, and stopping, happen under
//! an exclusive lock (`owner.lock`).
//!
//! The parts: `cluster` (the binaries, the user, where the cluster lives and its creation),
//! `owner` (the `owner` file and its lock), `server` (starting, attaching to, adopting and
//! stopping the instance; running its programs), `settings` (the server settings it starts with).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use cluster::short_digest;

mod cluster;
mod owner;
mod server;
mod settings;

pub use cluster::find_bin_dir;
pub use owner::Role;

/// Superuser and database names inside the private cluster.
pub const SUPERUSER: &str = "dscsa";
pub const DATABASE: &str = "dscsa";
/// The socket file is `.s.PGSQL.<port>`; the port number only names it, no TCP port is opened.
const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;
/// Where clusters go whose configured folder the `postgres` user cannot reach (see module docs).
pub const RELOCATION_BASE: &str = "/var/lib/dscsa-exchange/private-postgres";
/// In the configured folder of a relocated cluster: the path of the cluster's folder.
const RELOCATED_TO: &str = "relocated-to";

#[derive(Debug, thiserror::Error)]
pub enum PrivatePgError {
    #[error(
        "no PostgreSQL server binaries found (looked for `initdb` and `postgres` via pg_config, \
         PATH and /usr/lib/postgresql/*/bin). Install them (Debian/Ubuntu: \
         `apt-get install postgresql`) or point the server at an existing database with \
         DATABASE_URL=postgres://user:password@host:5432/dbname"
    )]
    BinariesNotFound,
    #[error(
        "running as root, but there is no `postgres` system user to run PostgreSQL as \
         (initdb refuses to run as root). Create it (`useradd --system postgres`), run as an \
         ordinary user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot run {program} as user `{user}` in {dir}: {source}. The `{user}` user must be \
         able to enter {dir}"
    )]
    Spawn {
        program: PathBuf,
        user: String,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the private PostgreSQL runs as user `postgres` (it refuses to run as root), and that \
         user cannot reach {folder}: {blocker} is not traversable for it ({mode}){why}. Fix: \
         `chmod o+x {blocker}` (or give `postgres` execute rights on it), set data_dir to a \
         folder it can reach (e.g. /var/lib/dscsa-exchange), or set \
         DATABASE_URL=postgres://user:password@host:5432/dbname"
    )]
    Unreachable {
        folder: PathBuf,
        blocker: PathBuf,
        mode: String,
        /// Why the cluster was not relocated instead.
        why: String,
    },
    #[error("`{command}` failed ({status}): {output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("private PostgreSQL did not become ready within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PrivatePgError + '_ {
    move |source| PrivatePgError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Who runs the PostgreSQL processes.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
    /// Whether we must switch to that user (we are root).
    switch: bool,
}

#[derive(Debug)]
enum Lifecycle {
    /// Found running with a live owner; the owner stops it.
    Attached,
    /// Started with `pg_ctl`, adopted from a dead owner or taken over from a command: stopped by
    /// us, if the `owner` file still names us then.
    Started,
    /// Runs under a watchdog that stops it (and deletes the folder) when this process exits,
    /// however it exits: used by the test harness.
    Ephemeral(Child),
    Stopped,
}

#[derive(Debug)]
pub struct PrivatePostgres {
    /// Where the cluster lives: the configured folder, or where it was relocated to.
    root: PathBuf,
    /// The configured folder (`data_dir/postgres`), when the cluster was relocated out of it.
    relocated_from: Option<PathBuf>,
    bin_dir: PathBuf,
    run_as: RunAs,
    lifecycle: Lifecycle,
    /// The dead owner whose running instance this handle adopted.
    adopted_from: Option<u32>,
}

impl PrivatePostgres {
    /// The configured folder the cluster was moved out of (module docs), if it was.
    pub fn relocated_from(&self) -> Option<&Path> {
        self.relocated_from.as_deref()
    }

    /// The pid of the dead process whose running instance this handle adopted (0: unknown).
    pub fn adopted_from(&self) -> Option<u32> {
        self.adopted_from
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pgdata(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// The folder holding the socket: inside the root when the path is short enough, otherwise
    /// a folder in the temp folder named after the root (socket paths are limited to 107 bytes).
    pub fn socket_dir(&self) -> PathBuf {
        let inside = self.root.join("run");
        if inside.as_os_str().len() + ".s.PGSQL.5432".len() < MAX_SOCKET_PATH {
            inside
        } else {
            // As root the folder is for the `postgres` user, who may not reach a private
            // $TMPDIR: use /tmp itself.
            let tmp = if self.run_as.switch {
                PathBuf::from("/tmp")
            } else {
                std::env::temp_dir()
            };
            tmp.join(format!("dscsa-pg-{}", short_digest(&self.root)))
        }
    }

    /// libpq connection URL for a database of this instance.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{database}?host={}&port={SOCKET_PORT}",
            crate::gs1::pct_encode(&self.socket_dir().to_string_lossy())
        )
    }

    /// Whether this handle will stop the instance.
    pub fn owns_instance(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Started | Lifecycle::Ephemeral(_))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            let _ = writeln!(std::io::stderr(), "warning: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
