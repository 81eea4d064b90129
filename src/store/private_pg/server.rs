//! Running the instance: starting it (with `pg_ctl`, or under a watchdog for tests), attaching to
//! or adopting one already running, stopping it, creating the database, and running the
//! PostgreSQL programs as the right user.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::current_user_name;
use super::owner::{Owner, Role};
use super::settings::server_settings;
use super::{Lifecycle, PrivatePgError, PrivatePostgres, DATABASE, SOCKET_PORT, SUPERUSER};

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

    pub fn is_running(&self) -> Result<bool, PrivatePgError> {
        if !self.pgdata().join("postmaster.pid").exists() {
            return Ok(false);
        }
        let out = self.pg_ctl(&["status"])?;
        // pg_ctl status: 0 running, 3 not running, 4 no data directory.
        Ok(out.status.success())
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

    pub(super) fn run(&self, mut cmd: Command, what: &str) -> Result<(), PrivatePgError> {
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
