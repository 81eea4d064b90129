use super::owner::{Owner, Role};
use super::*;

#[test]
fn socket_urls_encode_the_path() {
    assert_eq!(crate::gs1::pct_encode("/a b/run"), "%2Fa%20b%2Frun");
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
