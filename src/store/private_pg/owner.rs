//! The `owner` file of the cluster folder: which process will stop the instance (pid, start
//! time, role), whether it is still alive, and the `owner.lock` every reader and writer holds.

use super::{io_err, PrivatePgError, PrivatePostgres};

/// Who a process is, for the `owner` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `serve`: takes an instance over from a short-lived command it finds as owner.
    Server,
    /// Every other command (`import`, `migrate`, …): attaches to a live owner's instance.
    Command,
}

impl Role {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Role::Server => "serve",
            Role::Command => "command",
        }
    }
}

/// The process named in the `owner` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) pid: u32,
    /// Start time of the process (clock ticks since boot, /proc/PID/stat field 22): tells a
    /// reused pid from the owner.
    pub(super) start: u64,
    pub(super) role: String,
}

impl Owner {
    pub(super) fn me(role: Role) -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: process_start(pid).unwrap_or(0),
            role: role.as_str().to_string(),
        }
    }

    pub(super) fn parse(text: &str) -> Option<Owner> {
        let mut words = text.split_whitespace();
        Some(Owner {
            pid: words.next()?.parse().ok()?,
            start: words.next()?.parse().ok()?,
            role: words.next().unwrap_or("command").to_string(),
        })
    }

    pub(super) fn alive(&self) -> bool {
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

impl PrivatePostgres {
    /// Takes the exclusive lock on `owner.lock` (released when the file is dropped).
    pub(super) fn lock_owner(&self) -> Result<std::fs::File, PrivatePgError> {
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

    pub(super) fn read_owner(&self) -> Option<Owner> {
        Owner::parse(&std::fs::read_to_string(self.root.join("owner")).ok()?)
    }

    pub(super) fn write_owner(&self, owner: &Owner) -> Result<(), PrivatePgError> {
        let path = self.root.join("owner");
        std::fs::write(
            &path,
            format!("{} {} {}\n", owner.pid, owner.start, owner.role),
        )
        .map_err(io_err(&path))
    }
}
