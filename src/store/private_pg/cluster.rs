//! Where the cluster lives and its creation: the PostgreSQL binaries, the user they run as, the
//! folder (in place, or relocated when the `postgres` user cannot reach the configured one; see
//! the module docs of `private_pg`), its permissions, and `initdb`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{io_err, Lifecycle, PrivatePgError, PrivatePostgres, RunAs};
use super::{RELOCATED_TO, RELOCATION_BASE, SUPERUSER};

impl PrivatePostgres {
    /// Finds the binaries, the user, where the cluster lives (module docs), and initialises the
    /// cluster if there is none yet.
    pub(super) fn prepare(root: &Path) -> Result<PrivatePostgres, PrivatePgError> {
        let bin_dir = find_bin_dir().ok_or(PrivatePgError::BinariesNotFound)?;
        let run_as = run_as()?;
        std::fs::create_dir_all(root).map_err(io_err(root))?;
        let configured = root.canonicalize().map_err(io_err(root))?;
        let (root, relocated_from) = match run_as.switch {
            false => (configured, None),
            true => match place(&configured, &bin_dir, run_as)? {
                Some(elsewhere) => (elsewhere, Some(configured)),
                None => (configured, None),
            },
        };
        let pg = PrivatePostgres {
            root,
            relocated_from,
            bin_dir,
            run_as,
            lifecycle: Lifecycle::Stopped,
            adopted_from: None,
        };
        let socket_dir = pg.socket_dir();
        std::fs::create_dir_all(&socket_dir).map_err(io_err(&socket_dir))?;
        // Only the owner may reach the socket: trust authentication is safe behind it.
        for dir in [&pg.root, &socket_dir] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err(dir))?;
            if pg.run_as.switch {
                std::os::unix::fs::chown(dir, Some(pg.run_as.uid), Some(pg.run_as.gid))
                    .map_err(io_err(dir))?;
            }
        }
        if !pg.pgdata().join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        Ok(pg)
    }

    fn initdb(&self) -> Result<(), PrivatePgError> {
        log::info!(
            "initialising a private PostgreSQL cluster in {}",
            self.pgdata().display()
        );
        let mut cmd = Command::new(self.bin_dir.join("initdb"));
        cmd.arg("-D")
            .arg(self.pgdata())
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg("--no-instructions");
        self.run(cmd, "initdb")
    }
}

/// Looks for a folder with `initdb`, `postgres` and `pg_ctl`: `pg_config --bindir`, PATH, then the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian does not put the server binaries on PATH).
pub fn find_bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "postgres", "pg_ctl", "pg_isready", "psql"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("DSCSA_PG_BIN_DIR").map(PathBuf::from) {
        if complete(&dir) {
            return Some(dir);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if complete(&dir) {
                return Some(dir);
            }
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        if complete(&dir) {
            // Resolve symlinks so that the sibling binaries come from the same installation.
            let real = dir.join("initdb").canonicalize().ok();
            if let Some(parent) = real.as_deref().and_then(Path::parent) {
                if complete(parent) {
                    return Some(parent.to_path_buf());
                }
            }
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// Where the cluster configured in `configured` lives when PostgreSQL runs as `postgres` (we are
/// root): `None` in place, `Some(folder)` relocated (module docs).
fn place(
    configured: &Path,
    bin_dir: &Path,
    run_as: RunAs,
) -> Result<Option<PathBuf>, PrivatePgError> {
    let pointer = configured.join(RELOCATED_TO);
    if let Ok(text) = std::fs::read_to_string(&pointer) {
        let target = PathBuf::from(text.trim());
        if target.is_absolute() {
            std::fs::create_dir_all(&target).map_err(io_err(&target))?;
            return Ok(Some(target));
        }
    }
    // The configured folder is ours to give to `postgres`; what matters is its parents.
    let parent = configured.parent().unwrap_or(Path::new("/"));
    if reachable(parent, bin_dir, run_as) {
        return Ok(None);
    }
    let unreachable = |why: String| {
        let blocker = blocking_folder(parent, bin_dir, run_as);
        let mode = std::fs::metadata(&blocker)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                format!(
                    "mode {:04o}, owner uid {}",
                    m.permissions().mode() & 0o7777,
                    m.uid()
                )
            })
            .unwrap_or_else(|e| e.to_string());
        PrivatePgError::Unreachable {
            folder: configured.to_path_buf(),
            blocker,
            mode,
            why,
        }
    };
    if configured.join("pgdata").join("PG_VERSION").exists() {
        return Err(unreachable(format!(
            "; its cluster {} is not moved automatically",
            configured.join("pgdata").display()
        )));
    }
    let base = Path::new(RELOCATION_BASE);
    let target = base.join(format!("pg-{}", short_digest(configured)));
    let relocate = || -> std::io::Result<()> {
        std::fs::create_dir_all(base)?;
        // Root-owned, traversable but not listable by others: the cluster folders below it are
        // each 0700 and owned by `postgres`.
        std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o711))?;
        std::fs::create_dir_all(&target)?;
        std::fs::write(
            target.join("origin"),
            format!(
                "the private PostgreSQL of {}\n",
                configured.parent().unwrap_or(configured).display()
            ),
        )?;
        Ok(())
    };
    if let Err(e) = relocate() {
        return Err(unreachable(format!(
            ", and the cluster cannot be placed in {} instead: {e}",
            target.display()
        )));
    }
    if !reachable(base, bin_dir, run_as) {
        return Err(unreachable(format!(
            ", and `postgres` cannot reach {} either",
            base.display()
        )));
    }
    std::fs::write(&pointer, format!("{}\n", target.display())).map_err(io_err(&pointer))?;
    log::warn!(
        "the postgres user cannot reach {}: the private PostgreSQL lives in {} instead ({} points there)",
        configured.display(),
        target.display(),
        pointer.display()
    );
    Ok(Some(target))
}

/// Whether `run_as` can enter `dir`: a real attempt (a child started in `dir` as that user, as
/// PostgreSQL's will be), so that ACLs and groups count as the kernel counts them.
fn reachable(dir: &Path, bin_dir: &Path, run_as: RunAs) -> bool {
    let mut cmd = Command::new(bin_dir.join("pg_ctl"));
    cmd.arg("--version")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if run_as.switch {
        cmd.uid(run_as.uid).gid(run_as.gid);
    }
    cmd.status().is_ok()
}

/// The outermost folder on the way to `dir` that `run_as` cannot enter (`dir` if none is found).
fn blocking_folder(dir: &Path, bin_dir: &Path, run_as: RunAs) -> PathBuf {
    let mut chain: Vec<&Path> = dir.ancestors().collect();
    chain.reverse();
    chain
        .into_iter()
        .find(|d| !reachable(d, bin_dir, run_as))
        .unwrap_or(dir)
        .to_path_buf()
}

pub(super) fn short_digest(path: &Path) -> String {
    let digest = openssl::sha::sha256(path.as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn current_user_name() -> String {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid.to_string())
        .map(|f| f[0].to_string())
        .unwrap_or_else(|| format!("uid {uid}"))
}

pub(super) fn run_as() -> Result<RunAs, PrivatePgError> {
    // SAFETY: geteuid/getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid != 0 {
        return Ok(RunAs {
            uid,
            gid,
            switch: false,
        });
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "postgres")
        .and_then(|f| {
            Some(RunAs {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                switch: true,
            })
        })
        .ok_or(PrivatePgError::NoPostgresUser)
}
