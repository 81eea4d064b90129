//! The load harness the HTTP load benchmarks share (verify_load, resolver_load, query_load):
//! the real server binary as a child process, a test PKI, keep-alive connections (mutual TLS
//! or plain HTTP), one request at a time per connection on its own thread in this process, and
//! the latency report. Each benchmark brings its database, its requests and what counts as a
//! good answer.

// Each benchmark binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dscsa_exchange::tls::pki::{self, LeafKind};
use openssl::nid::Nid;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;

/// A number from the environment, or the default.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size (VmHWM) of a process, in KiB.
pub fn vm_hwm_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A CA, the server's certificate for localhost (files in `dir`), and one client certificate.
pub struct Pki {
    pub ca: pki::Issued,
    pub client: pki::Issued,
    pub dir: PathBuf,
}

impl Pki {
    /// The client certificate names `gln` and `role` as the development PKI does.
    pub fn new(dir: &Path, client_gln: &str, client_role: &str) -> Pki {
        let ca = pki::new_ca("bench CA").unwrap();
        let server = pki::issue(
            &ca,
            &[(Nid::COMMONNAME, "localhost")],
            LeafKind::Server {
                dns: &["localhost"],
                ips: &["127.0.0.1"],
            },
            30,
        )
        .unwrap();
        let client = pki::issue_client(&ca, client_gln, "Bench", client_role).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(dir.join("server.pem"), server.cert_pem()).unwrap();
        std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
        Pki {
            ca,
            client,
            dir: dir.to_path_buf(),
        }
    }

    /// The environment that makes `serve` use these files on its partner listener.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        let f = |n: &str| self.dir.join(n).display().to_string();
        vec![
            ("DSCSA_TLS_LISTEN", "127.0.0.1:0".into()),
            ("DSCSA_TLS_CERT", f("server.pem")),
            ("DSCSA_TLS_KEY", f("server.key")),
            ("DSCSA_TLS_CLIENT_CA", f("ca.pem")),
        ]
    }

    /// A client that trusts the CA and presents the client certificate.
    pub fn connector(&self) -> SslConnector {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(self.ca.cert.clone()).unwrap();
        b.set_verify_cert_store(store.build()).unwrap();
        b.set_verify(SslVerifyMode::PEER);
        b.set_certificate(&self.client.cert).unwrap();
        b.set_private_key(&self.client.key).unwrap();
        b.build()
    }
}

/// The real server binary, as deployed: its own process, configured by environment only.
pub struct Server {
    child: Child,
    /// Ports announced in the banner: the plain HTTP listener and the partner listener.
    pub http_port: u16,
    pub partner_port: Option<u16>,
}

impl Server {
    /// Starts `serve` in `dir` (the binary of this build, or `binary`), with `env` on top of a
    /// cleared environment, the server's stderr in `dir/server.log`; waits for the banner.
    pub fn start(dir: &Path, binary: Option<std::ffi::OsString>, env: &[(&str, String)]) -> Server {
        Server::start_wrapped(dir, binary, "", env)
    }

    /// As [`Server::start`], run under `wrapper` (a command line such as `valgrind
    /// --tool=callgrind …`; empty: none).
    pub fn start_wrapped(
        dir: &Path,
        binary: Option<std::ffi::OsString>,
        wrapper: &str,
        env: &[(&str, String)],
    ) -> Server {
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let binary = binary.unwrap_or_else(|| env!("CARGO_BIN_EXE_dscsa-exchange").into());
        let mut cmd = match wrapper.split_whitespace().collect::<Vec<_>>().split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        cmd.arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DSCSA_HTTP_LISTEN", "127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the server binary");
        let (http_port, partner_port) = banner_ports(
            &mut child,
            env.iter().any(|(k, _)| *k == "DSCSA_TLS_LISTEN"),
        );
        Server {
            child,
            http_port,
            partner_port,
        }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// SIGTERM: the server drains (and flushes its verification log) before it exits.
    pub fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: kill with a pid we own and a valid signal number.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

/// Reads the banner on the server's stdout for the listeners' ports, then keeps draining stdout
/// so that the server never blocks on a full pipe.
fn banner_ports(child: &mut Child, tls: bool) -> (u16, Option<u16>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port_of = |rest: &str| -> u16 {
        let addr = rest.split_whitespace().next().unwrap();
        let addr = addr.trim_end_matches(|c: char| !c.is_ascii_digit());
        let digits: String = addr
            .rsplit(':')
            .next()
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let (mut http, mut partners) = (None, None);
    while http.is_none() || (tls && partners.is_none()) {
        let line = lines
            .next()
            .expect("server exited before announcing its listeners (see server.log)")
            .unwrap();
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("health:") {
            http = Some(port_of(rest));
        } else if let Some(rest) = line.strip_prefix("partners:") {
            partners = Some(port_of(rest));
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (http.unwrap(), partners)
}

/// One keep-alive connection: TLS or plain.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// How a connection is made.
#[derive(Clone)]
pub enum Connect {
    Plain(u16),
    Tls(SslConnector, u16),
}

impl Connect {
    pub fn open(&self) -> std::io::Result<Box<dyn Stream>> {
        let port = match self {
            Connect::Plain(p) | Connect::Tls(_, p) => *p,
        };
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_nodelay(true)?;
        match self {
            Connect::Plain(_) => Ok(Box::new(tcp)),
            Connect::Tls(c, _) => c
                .connect("localhost", tcp)
                .map(|s| Box::new(s) as Box<dyn Stream>)
                .map_err(|e| std::io::Error::other(e.to_string())),
        }
    }
}

/// What the connections measured.
pub struct Report {
    pub ok: u64,
    pub errors: u64,
    /// Microseconds, sorted.
    pub latencies: Vec<u32>,
    pub sample: String,
}

impl Report {
    fn empty() -> Report {
        Report {
            ok: 0,
            errors: 0,
            latencies: Vec::new(),
            sample: String::new(),
        }
    }

    /// The latency at quantile `p`, in milliseconds.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        let l = &self.latencies;
        if l.is_empty() {
            return 0.0;
        }
        l[((l.len() as f64 * p) as usize).min(l.len() - 1)] as f64 / 1000.0
    }

    pub fn print(&self, seconds: u64, what: &str) {
        println!(
            "  {} {what}, {} errors: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ok,
            self.errors,
            self.ok as f64 / seconds as f64,
            self.quantile_ms(0.50),
            self.quantile_ms(0.90),
            self.quantile_ms(0.99),
            self.latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
        println!("  sample answer: {}", self.sample);
    }
}

/// The requests of a run: `request(connection, n, out)` writes request `n` of a connection
/// into `out`; `good(connection, n, status, body)` says whether its answer counts.
pub struct Load<R, G> {
    pub connect: Connect,
    pub connections: u64,
    pub warmup: Duration,
    pub measured: Duration,
    pub request: R,
    pub good: G,
    /// When not 0: exactly this many requests on each connection, one connection after the
    /// other, all counted, no warm-up (for instruction counts, not rates).
    pub fixed: u64,
}

impl<R, G> Load<R, G>
where
    R: Fn(u64, u64, &mut Vec<u8>) + Send + Sync + 'static,
    G: Fn(u64, u64, u16, &[u8]) -> bool + Send + Sync + 'static,
{
    /// One thread per keep-alive connection, one request at a time; a warm-up (handshakes,
    /// caches, prepared statements), then the measured window.
    pub fn run(self) -> Report {
        if self.fixed > 0 {
            let (stop, measuring) = (AtomicBool::new(false), AtomicBool::new(true));
            let mut report = Report::empty();
            for c in 0..self.connections {
                let r = self.connection(c, &stop, &measuring);
                report.ok += r.ok;
                report.errors += r.errors;
                report.latencies.extend(r.latencies);
                if report.sample.is_empty() {
                    report.sample = r.sample;
                }
            }
            report.latencies.sort_unstable();
            return report;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let measuring = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(self);
        let threads: Vec<_> = (0..shared.connections)
            .map(|c| {
                let (stop, measuring, load) = (stop.clone(), measuring.clone(), shared.clone());
                std::thread::Builder::new()
                    .name(format!("load-{c}"))
                    .stack_size(256 * 1024)
                    .spawn(move || load.connection(c, &stop, &measuring))
                    .unwrap()
            })
            .collect();
        std::thread::sleep(shared.warmup);
        measuring.store(true, Ordering::SeqCst);
        std::thread::sleep(shared.measured);
        measuring.store(false, Ordering::SeqCst);
        stop.store(true, Ordering::SeqCst);
        let mut report = Report::empty();
        for t in threads {
            let r = t.join().unwrap();
            report.ok += r.ok;
            report.errors += r.errors;
            report.latencies.extend(r.latencies);
            if report.sample.is_empty() {
                report.sample = r.sample;
            }
        }
        report.latencies.sort_unstable();
        report
    }

    fn connection(&self, c: u64, stop: &AtomicBool, measuring: &AtomicBool) -> Report {
        let mut r = Report::empty();
        r.latencies.reserve(200_000);
        let mut stream: Option<Box<dyn Stream>> = None;
        let mut request = Vec::with_capacity(512);
        let mut answer = Answer::default();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) && (self.fixed == 0 || n < self.fixed) {
            let s = match stream.as_mut() {
                Some(s) => s,
                None => match self.connect.open() {
                    Ok(s) => stream.insert(s),
                    Err(e) => {
                        eprintln!("connection {c}: {e}");
                        r.errors += 1;
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                },
            };
            n += 1;
            request.clear();
            (self.request)(c, n, &mut request);
            let measured = measuring.load(Ordering::Relaxed);
            let t = Instant::now();
            let result = s.write_all(&request).and_then(|()| answer.read(s.as_mut()));
            let elapsed = t.elapsed();
            match result {
                Ok(status) if (self.good)(c, n, status, &answer.body) => {
                    if measured {
                        r.ok += 1;
                        r.latencies.push(elapsed.as_micros() as u32);
                    }
                    if r.sample.is_empty() {
                        let end = answer.body.len().min(600);
                        r.sample = String::from_utf8_lossy(&answer.body[..end]).into_owned();
                    }
                }
                Ok(status) => {
                    if measured {
                        r.errors += 1;
                    }
                    let end = answer.body.len().min(600);
                    eprintln!(
                        "connection {c}: {status} {}",
                        String::from_utf8_lossy(&answer.body[..end])
                    );
                }
                Err(e) => {
                    if measured {
                        r.errors += 1;
                    }
                    eprintln!("connection {c}: {e}; reconnecting");
                    stream = None;
                }
            }
        }
        r
    }
}

/// A deterministic spread: xorshift64 step.
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// One HTTP/1.1 response read off a keep-alive connection: a Content-Length or chunked body.
#[derive(Default)]
pub struct Answer {
    buf: Vec<u8>,
    head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads one response; returns its status, with the body in `self.body`.
    pub fn read(&mut self, s: &mut dyn Stream) -> std::io::Result<u16> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        self.body.clear();
        // Bytes of the previous response never linger: one request at a time.
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > 64 * 1024 {
                return Err(bad("response head too large"));
            }
            if fill(s, &mut self.buf)? == 0 {
                return Err(bad("connection closed"));
            }
        };
        self.head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| bad("response head is not UTF-8"))?
            .to_string();
        let head = self.head.clone();
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status"))?;
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let mut rest: Vec<u8> = self.buf.split_off(head_end);
        if let Some(length) = header("content-length") {
            let length: usize = length.parse().map_err(|_| bad("bad content-length"))?;
            while rest.len() < length {
                if fill(s, &mut rest)? == 0 {
                    return Err(bad("connection closed in the body"));
                }
            }
            rest.truncate(length);
            self.body = rest;
        } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            let mut at = 0;
            loop {
                let line_end = loop {
                    if let Some(i) = find(&rest[at..], b"\r\n") {
                        break at + i;
                    }
                    if fill(s, &mut rest)? == 0 {
                        return Err(bad("connection closed in a chunk size"));
                    }
                };
                let size_text = std::str::from_utf8(&rest[at..line_end])
                    .map_err(|_| bad("chunk size is not UTF-8"))?;
                let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                    .map_err(|_| bad("bad chunk size"))?;
                let data = line_end + 2;
                // The chunk, its CRLF; after the last (empty) chunk just the final CRLF.
                while rest.len() < data + size + 2 {
                    if fill(s, &mut rest)? == 0 {
                        return Err(bad("connection closed in a chunk"));
                    }
                }
                self.body.extend_from_slice(&rest[data..data + size]);
                at = data + size + 2;
                if size == 0 {
                    break;
                }
            }
        } else {
            return Err(bad("neither content-length nor chunked"));
        }
        Ok(status)
    }
}

impl Answer {
    /// A header of the last response read.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

fn fill(s: &mut dyn Stream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}
