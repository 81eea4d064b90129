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

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Who a process is, for the `owner` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`: takes an instance over from a short-lived command it finds as owner.
    Server,
    /// Every other command (`import`, `migrate`, …): attaches to a live owner's instance.
    Command,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Server => "serve",
            Role::Command => "command",
        }
    }
}

/// The process named in the `owner` file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    pid: u32,
    /// Start time of the process (clock ticks since boot, /proc/PID/stat field 22): tells a
    /// reused pid from the owner.
    start: u64,
    role: String,
}

impl Owner {
    fn me(role: Role) -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: process_start(pid).unwrap_or(0),
            role: role.as_str().to_string(),
        }
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut words = text.split_whitespace();
        Some(Owner {
            pid: words.next()?.parse().ok()?,
            start: words.next()?.parse().ok()?,
            role: words.next().unwrap_or("command").to_string(),
        })
    }

    fn alive(&self) -> bool {
        match process_start(self.pid) {
            Some(start) => self.start == 0 || start == self.start,
            None => false,
        }
    }
}

/// Start time of a running process (field 22 of /proc/PID/stat), `None` if there is none.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
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
    /// Initialises (first time) and starts the instance under `root`, or attaches to it if it is
    /// already running, as a short-lived command (see [`Role::Command`]).
    pub fn ensure_running(root: &Path) -> Result<PrivatePostgres, PrivatePgError> {
        Self::ensure_running_as(root, Role::Command)
    }

    /// As [`PrivatePostgres::ensure_running`], for `role`: adopts an instance whose owner is
    /// gone, and as [`Role::Server`] takes one over from a command (module docs, "Owner").
    pub fn ensure_running_as(root: &Path, role: Role) -> Result<PrivatePostgres, PrivatePgError> {
        let mut pg = Self::prepare(root)?;
        let lock = pg.lock_owner()?;
        if pg.is_running()? {
            let me = Owner::me(role);
            match pg.read_owner() {
                Some(owner)
                    if owner.alive()
                        && (owner.role == Role::Server.as_str() || role == Role::Command) =>
                {
                    log::info!(
                        "attached to the private PostgreSQL in {} (run by pid {})",
                        pg.pgdata().display(),
                        owner.pid
                    );
                    pg.lifecycle = Lifecycle::Attached;
                }
                Some(owner) if owner.alive() => {
                    log::info!(
                        "took over the private PostgreSQL in {} from `{}` (pid {}): it stops when this server does",
                        pg.pgdata().display(),
                        owner.role,
                        owner.pid
                    );
                    pg.write_owner(&me)?;
                    pg.lifecycle = Lifecycle::Started;
                }
                gone => {
                    let pid = gone.map(|o| o.pid);
                    log::warn!(
                        "adopted the private PostgreSQL in {} left running by {} (no longer running): it stops when this process exits",
                        pg.pgdata().display(),
                        pid.map_or("a process".to_string(), |p| format!("pid {p}"))
                    );
                    pg.write_owner(&me)?;
                    pg.adopted_from = Some(pid.unwrap_or(0));
                    pg.lifecycle = Lifecycle::Started;
                }
            }
        } else {
            pg.start_with_pg_ctl()?;
            pg.write_owner(&Owner::me(role))?;
            pg.lifecycle = Lifecycle::Started;
        }
        drop(lock);
        pg.ensure_database(DATABASE)?;
        Ok(pg)
    }

    /// Takes the exclusive lock on `owner.lock` (released when the file is dropped).
    fn lock_owner(&self) -> Result<std::fs::File, PrivatePgError> {
        use std::os::fd::AsRawFd;
        let path = self.root.join("owner.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // SAFETY: flock(2) on a descriptor we own; blocks until the lock is ours.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(PrivatePgError::Io {
                path,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(file)
    }

    fn read_owner(&self) -> Option<Owner> {
        Owner::parse(&std::fs::read_to_string(self.root.join("owner")).ok()?)
    }

    fn write_owner(&self, owner: &Owner) -> Result<(), PrivatePgError> {
        let path = self.root.join("owner");
        std::fs::write(
            &path,
            format!("{} {} {}\n", owner.pid, owner.start, owner.role),
        )
        .map_err(io_err(&path))
    }

    /// The configured folder the cluster was moved out of (module docs), if it was.
    pub fn relocated_from(&self) -> Option<&Path> {
        self.relocated_from.as_deref()
    }

    /// The pid of the dead process whose running instance this handle adopted (0: unknown).
    pub fn adopted_from(&self) -> Option<u32> {
        self.adopted_from
    }

    /// A throw-away instance for a test run: initialised in `root` (which must not exist or be
    /// empty), tuned for speed (no fsync), and stopped and deleted when this process exits.
    pub fn start_ephemeral(root: &Path) -> Result<PrivatePostgres, PrivatePgError> {
        let mut pg = Self::prepare(root)?;
        let script = r#"
            "$1/postgres" -D "$2" -k "$3" -p "$4" -c listen_addresses= -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
                -c shared_buffers=128MB >>"$5" 2>&1 &
            pg=$!
            # Our stdin is a pipe from the test process: EOF means it has exited.
            while read -r _; do :; done
            kill -INT "$pg" 2>/dev/null
            wait "$pg"
            rm -rf "$6"
        "#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&pg.bin_dir)
            .arg(pg.pgdata())
            .arg(pg.socket_dir())
            .arg(SOCKET_PORT.to_string())
            .arg(pg.log_file())
            .arg(&pg.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        pg.apply_user(&mut cmd);
        let child = cmd.spawn().map_err(|e| pg.spawn_err(Path::new("sh"), e))?;
        pg.lifecycle = Lifecycle::Ephemeral(child);
        pg.wait_until_ready(Duration::from_secs(60))?;
        Ok(pg)
    }

    /// Finds the binaries, the user, where the cluster lives (module docs), and initialises the
    /// cluster if there is none yet.
    fn prepare(root: &Path) -> Result<PrivatePostgres, PrivatePgError> {
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
            percent_encode(&self.socket_dir().to_string_lossy())
        )
    }

    pub fn is_running(&self) -> Result<bool, PrivatePgError> {
        if !self.pgdata().join("postmaster.pid").exists() {
            return Ok(false);
        }
        let out = self.pg_ctl(&["status"])?;
        // pg_ctl status: 0 running, 3 not running, 4 no data directory.
        Ok(out.status.success())
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

    fn start_with_pg_ctl(&self) -> Result<(), PrivatePgError> {
        let options = format!(
            "-k '{}' -p {SOCKET_PORT} -c listen_addresses=''{}",
            self.socket_dir().display(),
            server_settings(&self.bin_dir)
        );
        let mut cmd = Command::new(self.bin_dir.join("pg_ctl"));
        cmd.arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        self.run(cmd, "pg_ctl start")?;
        self.wait_until_ready(Duration::from_secs(60))
    }

    /// Stops the instance if this process owns it (started or adopted it, and no server took it
    /// over since); leaves it running otherwise.
    pub fn stop(&mut self) -> Result<(), PrivatePgError> {
        self.stop_inner(false)
    }

    fn stop_inner(&mut self, force: bool) -> Result<(), PrivatePgError> {
        match std::mem::replace(&mut self.lifecycle, Lifecycle::Stopped) {
            Lifecycle::Started => {
                let _lock = self.lock_owner()?;
                let me = Owner::me(Role::Command);
                match self.read_owner() {
                    Some(o) if !force && (o.pid, o.start) != (me.pid, me.start) => {
                        log::info!(
                            "leaving the private PostgreSQL running for `{}` (pid {}), which took it over",
                            o.role,
                            o.pid
                        );
                        return Ok(());
                    }
                    _ => {}
                }
                let mut cmd = Command::new(self.bin_dir.join("pg_ctl"));
                cmd.arg("-D")
                    .arg(self.pgdata())
                    .args(["-m", "fast", "-w", "-t", "60", "stop"]);
                self.run(cmd, "pg_ctl stop")?;
                let _ = std::fs::remove_file(self.root.join("owner"));
                log::info!(
                    "stopped the private PostgreSQL in {}",
                    self.pgdata().display()
                );
            }
            Lifecycle::Ephemeral(mut child) => {
                drop(child.stdin.take());
                let _ = child.wait();
            }
            Lifecycle::Attached | Lifecycle::Stopped => {}
        }
        Ok(())
    }

    /// Stops the instance whoever started it (e.g. one left running by a killed process).
    pub fn stop_now(mut self) -> Result<(), PrivatePgError> {
        if matches!(self.lifecycle, Lifecycle::Attached) {
            self.lifecycle = Lifecycle::Started;
        }
        self.stop_inner(true)
    }

    /// Whether this handle will stop the instance.
    pub fn owns_instance(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Started | Lifecycle::Ephemeral(_))
    }

    fn wait_until_ready(&self, limit: Duration) -> Result<(), PrivatePgError> {
        let start = Instant::now();
        loop {
            let mut cmd = Command::new(self.bin_dir.join("pg_isready"));
            cmd.arg("-q").arg("-h").arg(self.socket_dir()).args([
                "-p",
                &SOCKET_PORT.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
            ]);
            if cmd.status().map(|s| s.success()).unwrap_or(false) {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(PrivatePgError::NotReady(limit, self.log_file()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates `name` if it does not exist (the maintenance database `postgres` always does).
    pub fn ensure_database(&self, name: &str) -> Result<(), PrivatePgError> {
        let exists = self.psql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{}'",
            name.replace('\'', "''")
        ))?;
        if exists.trim() != "1" {
            self.psql(&format!(
                "CREATE DATABASE \"{}\"",
                name.replace('"', "\"\"")
            ))?;
        }
        Ok(())
    }

    fn psql(&self, sql: &str) -> Result<String, PrivatePgError> {
        let mut cmd = Command::new(self.bin_dir.join("psql"));
        cmd.arg("-X")
            .arg("-qAt")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &SOCKET_PORT.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
            ]);
        let out = cmd
            .output()
            .map_err(|e| self.spawn_err(Path::new("psql"), e))?;
        if !out.status.success() {
            return Err(PrivatePgError::CommandFailed {
                command: "psql".into(),
                status: out.status.to_string(),
                output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<std::process::Output, PrivatePgError> {
        let mut cmd = Command::new(self.bin_dir.join("pg_ctl"));
        cmd.arg("-D").arg(self.pgdata()).args(args);
        self.apply_user(&mut cmd);
        cmd.output()
            .map_err(|e| self.spawn_err(Path::new("pg_ctl"), e))
    }

    /// A child that could not be started: names the program, the user and the folder it was to
    /// run in (a folder the user cannot enter fails the same way as a missing program).
    fn spawn_err(&self, program: &Path, source: std::io::Error) -> PrivatePgError {
        PrivatePgError::Spawn {
            program: self.bin_dir.join(program),
            user: if self.run_as.switch {
                "postgres".into()
            } else {
                current_user_name()
            },
            dir: self.root.clone(),
            source,
        }
    }

    fn apply_user(&self, cmd: &mut Command) {
        cmd.current_dir(&self.root);
        if self.run_as.switch {
            cmd.uid(self.run_as.uid).gid(self.run_as.gid);
            // HOME=/root would be unreadable for the postgres user.
            cmd.env("HOME", &self.root);
        }
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<(), PrivatePgError> {
        self.apply_user(&mut cmd);
        // pg_ctl start leaves the server holding our stdout/stderr; give it nothing to hold.
        cmd.stdin(Stdio::null());
        let program = PathBuf::from(cmd.get_program());
        let out = cmd.output().map_err(|e| self.spawn_err(&program, e))?;
        if out.status.success() {
            return Ok(());
        }
        let mut output = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if output.is_empty() {
            output = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        if what == "pg_ctl start" {
            output.push_str(&format!(" (server log: {})", self.log_file().display()));
        }
        Err(PrivatePgError::CommandFailed {
            command: what.to_string(),
            status: out.status.to_string(),
            output,
        })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            let _ = writeln!(std::io::stderr(), "warning: {e}");
        }
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

fn short_digest(path: &Path) -> String {
    let digest = openssl::sha::sha256(path.as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn current_user_name() -> String {
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

fn run_as() -> Result<RunAs, PrivatePgError> {
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
fn server_settings(bin_dir: &Path) -> String {
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

/// Percent-encodes a value for a libpq URL query parameter.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_encode_the_path() {
        assert_eq!(percent_encode("/a b/run"), "%2Fa%20b%2Frun");
    }

    #[test]
    fn long_roots_put_the_socket_in_a_short_folder() {
        let pg = PrivatePostgres {
            root: PathBuf::from(format!("/{}", "x".repeat(120))),
            relocated_from: None,
            adopted_from: None,
            bin_dir: PathBuf::new(),
            run_as: RunAs {
                uid: 0,
                gid: 0,
                switch: false,
            },
            lifecycle: Lifecycle::Stopped,
        };
        let dir = pg.socket_dir();
        assert!(dir.as_os_str().len() < MAX_SOCKET_PATH, "{}", dir.display());
        assert!(dir.starts_with(std::env::temp_dir()));
    }

    #[test]
    fn the_owner_file_tells_a_live_owner_from_a_dead_or_reused_pid() {
        let me = Owner::me(Role::Server);
        assert!(me.start > 0, "start time read from /proc");
        let text = format!("{} {} {}\n", me.pid, me.start, me.role);
        let read = Owner::parse(&text).unwrap();
        assert_eq!(read, me);
        assert!(read.alive());
        // The same pid with another start time is another process.
        assert!(!Owner {
            start: me.start + 1,
            ..me.clone()
        }
        .alive());
        // A pid beyond the kernel's limit never runs.
        assert!(!Owner {
            pid: 4_194_305,
            ..me
        }
        .alive());
        assert_eq!(Owner::parse("garbage"), None);
    }
}
