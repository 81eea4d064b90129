//! The reading half of a capture: the document is read on a thread of its own (parsing,
//! structure and identifier rules, event hashes, the event-level DSCSA rules and the rows of
//! each event) while the capture's thread stores what it hands over; the two halves use both
//! cores. A channel bounded by a budget of EPC references in flight keeps memory bounded; if
//! storing fails, the channel closes and the reader stops.

use std::collections::HashSet;
use std::io::{Read, Write};

use chrono::Utc;
use diesel::PgConnection;
use uuid::Uuid;

use super::prepare::{self, Prepared};
use super::report::{fatal, from_diagnostic};
use super::run::Run;
use super::{master_data, rules, CaptureError, Finding};
use crate::epcis::{
    BodyFormat, DocumentKind, DocumentStart, EpcisReader, EpcisVersion, Event, Header, Item,
    Limits, SpillOptions, Vocabulary,
};
use crate::store::capture::DocumentHeader;

/// EPC references handed over to the storing thread and not yet taken: the reader waits
/// while there are more than this many, so memory stays bounded whatever the event sizes.
/// Spilled references count too: the reader does not run ahead filling the spool with huge
/// events (at most one waits while another is stored).
const IN_FLIGHT_EPCS: usize = 100_000;

/// Reads through to the parser while spooling the bytes and hashing them.
pub(super) struct Tee<R> {
    inner: R,
    spool: std::io::BufWriter<std::fs::File>,
    sha: openssl::sha::Sha256,
    bytes: u64,
    spool_error: Option<std::io::Error>,
}

impl<R: Read> Tee<R> {
    pub fn new(inner: R, spool: std::fs::File) -> Self {
        Tee {
            inner,
            spool: std::io::BufWriter::with_capacity(1 << 20, spool),
            sha: openssl::sha::Sha256::new(),
            bytes: 0,
            spool_error: None,
        }
    }

    /// Bytes read so far.
    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// The SHA-256 of the bytes read so far (the hash starts again after this).
    pub fn take_digest(&mut self) -> [u8; 32] {
        std::mem::replace(&mut self.sha, openssl::sha::Sha256::new()).finish()
    }

    /// Writes the spooled bytes out to the file.
    pub fn flush_spool(&mut self) -> std::io::Result<()> {
        self.spool.flush()
    }

    /// The first error of writing the spool, if any (reading went on regardless).
    pub fn take_spool_error(&mut self) -> Option<std::io::Error> {
        self.spool_error.take()
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        if let Err(e) = self.spool.write_all(&buf[..n]) {
            self.spool_error.get_or_insert(e);
        }
        Ok(n)
    }
}

/// What the document said in its start and header.
#[derive(Default, Clone)]
pub(super) struct DocumentFacts {
    pub format: Option<&'static str>,
    pub header: DocumentHeader,
    /// Carries GS1 US healthcare header elements: the DSCSA rules for shipments apply.
    pub dscsa: bool,
    pub has_sbdh_parties: bool,
    pub has_transaction_statement: bool,
}

/// What the reading thread hands to the storing thread, in document order.
enum Parsed {
    Facts(DocumentFacts),
    MasterData(Vocabulary),
    Finding(Finding),
    Event(Box<Prepared>),
    /// The reader could not write a huge event's lists to the spool: a server fault, not a
    /// fault of the document.
    SpoolFailed(String),
}

/// Reads the document on its own thread while this thread stores what it hands over (see
/// the module comment); the last batch is flushed at the end.
pub(super) fn read_document<R: Read + Send>(
    conn: &mut PgConnection,
    input: R,
    run: &mut Run<'_>,
) -> Result<(), CaptureError> {
    let (tx, rx) = std::sync::mpsc::channel::<Parsed>();
    let budget = Budget::default();
    let opts = run.opts();
    let front = Front {
        tx,
        budget: &budget,
        facts: DocumentFacts::default(),
        refused: HashSet::new(),
        now: Utc::now(),
        tolerance: opts.future_tolerance,
        document_id: run.document_id(),
    };
    let limits = opts.limits.clone();
    let spill = SpillOptions {
        dir: opts.spool_dir.clone(),
        after: opts.spill_after,
    };
    std::thread::scope(|scope| {
        scope.spawn(move || front.read(input, limits, spill));
        let mut result = Ok(());
        for msg in rx.iter() {
            if let Parsed::Event(p) = &msg {
                budget.release(p.in_flight());
            }
            result = match msg {
                Parsed::Facts(f) => {
                    run.set_facts(f);
                    Ok(())
                }
                Parsed::MasterData(vocab) => master_data::store(conn, &vocab),
                Parsed::Finding(f) => {
                    run.push(f);
                    Ok(())
                }
                Parsed::Event(p) => run.add_event(conn, *p),
                Parsed::SpoolFailed(m) => Err(CaptureError::Spool(std::io::Error::other(m))),
            };
            if result.is_err() {
                break;
            }
        }
        // Dropping the receiver (and closing the budget) stops the reader at its next
        // hand-over.
        budget.close();
        drop(rx);
        result?;
        run.flush(conn)
    })
}

#[derive(Default)]
struct Budget {
    /// (EPC references in flight, closed)
    state: std::sync::Mutex<(usize, bool)>,
    taken: std::sync::Condvar,
}

impl Budget {
    /// Waits for room for `n` more; false once the storing side has stopped.
    fn acquire(&self, n: usize) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.1 && st.0 > 0 && st.0 + n > IN_FLIGHT_EPCS {
            st = self.taken.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.0 += n;
        !st.1
    }

    fn release(&self, n: usize) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.saturating_sub(n);
        self.taken.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.taken.notify_all();
    }
}

/// The reading thread: what it knows of the document so far, and where it hands things.
struct Front<'b> {
    tx: std::sync::mpsc::Sender<Parsed>,
    budget: &'b Budget,
    facts: DocumentFacts,
    /// Events refused by a finding of the reader or of the event-level rules.
    refused: HashSet<u64>,
    now: chrono::DateTime<Utc>,
    tolerance: chrono::Duration,
    document_id: Uuid,
}

impl Front<'_> {
    /// Reads the document to its end (or to a fatal error, or until the storing side stops).
    fn read<R: Read>(mut self, input: R, limits: Limits, spill: SpillOptions) {
        let mut reader =
            EpcisReader::new(std::io::BufReader::with_capacity(1 << 16, input), limits)
                .spill_to(spill);
        loop {
            let item = match reader.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) if e.code == crate::epcis::diagnostics::rules::SPILL.id => {
                    self.send(Parsed::SpoolFailed(e.message));
                    return;
                }
                Err(e) => {
                    for d in reader.take_diagnostics() {
                        self.report(from_diagnostic(d));
                    }
                    self.report(fatal(&e));
                    return;
                }
            };
            for d in reader.take_diagnostics() {
                if !self.report(from_diagnostic(d)) {
                    return;
                }
            }
            match item {
                Item::DocumentStart(start) => self.start(start, reader.format()),
                Item::MasterData(vocab) => {
                    self.send(Parsed::MasterData(vocab));
                }
                Item::Header(header) => self.header(&header),
                Item::Event(event) => {
                    if !self.event(event) {
                        return;
                    }
                }
                Item::End => break,
            }
        }
        for d in reader.take_diagnostics() {
            self.report(from_diagnostic(d));
        }
    }

    fn send(&self, m: Parsed) -> bool {
        self.tx.send(m).is_ok()
    }

    /// Hands a finding over, noting the event it refuses; false once the storing side has
    /// stopped.
    fn report(&mut self, f: Finding) -> bool {
        if f.rejects() {
            if let Some(i) = f.event_index {
                self.refused.insert(i);
            }
        }
        self.send(Parsed::Finding(f))
    }

    fn start(&mut self, start: DocumentStart, binding: BodyFormat) {
        self.facts.format = Some(match (start.version, start.kind) {
            _ if binding == BodyFormat::Json => "epcis-2.0-jsonld",
            (EpcisVersion::V1, DocumentKind::EpcisMasterDataDocument) => "masterdata-1.2-xml",
            // The documents.format CHECK has no 2.0 master-data value: it is the EPCIS 2.0
            // XML binding, so it is recorded as such.
            (EpcisVersion::V2, DocumentKind::EpcisMasterDataDocument) => "epcis-2.0-xml",
            (EpcisVersion::V1, _) => "epcis-1.2-xml",
            (EpcisVersion::V2, _) => "epcis-2.0-xml",
        });
        self.facts.header.creation_date = start
            .creation_date
            .and_then(|t| t.value)
            .map(|t| t.with_timezone(&Utc));
        self.send(Parsed::Facts(self.facts.clone()));
    }

    fn header(&mut self, header: &Header) {
        let facts = &mut self.facts;
        if let Some(sbdh) = &header.sbdh {
            facts.header.sender = sbdh.senders.first().map(|p| p.identifier.clone());
            facts.header.receiver = sbdh.receivers.first().map(|p| p.identifier.clone());
            facts.header.instance_identifier =
                sbdh.document_identification.instance_identifier.clone();
            facts.has_sbdh_parties = !sbdh.senders.is_empty() && !sbdh.receivers.is_empty();
        }
        facts.has_transaction_statement = header.transaction_statement.is_some();
        facts.header.transaction_statement = header.transaction_statement.as_ref().map(
            |ts| serde_json::json!({ "affirmed": ts.affirmed, "legalNotice": ts.legal_notice }),
        );
        facts.dscsa = header.transaction_statement.is_some() || header.guideline_version.is_some();
        self.send(Parsed::Facts(self.facts.clone()));
    }

    /// Prepares an event, checks the event-level rules and hands it over unless refused;
    /// false once the storing side has stopped.
    fn event(&mut self, event: Box<Event>) -> bool {
        if self.refused.contains(&event.index) {
            return true;
        }
        let Some(p) = prepare::prepare(&event, self.document_id) else {
            // The reader reported why; make sure the event counts as refused.
            self.refused.insert(event.index);
            return true;
        };
        drop(event);
        if p.event_time > self.now + self.tolerance {
            self.report(rules::in_the_future(&p, self.now, self.tolerance));
            return true;
        }
        if p.shipping && self.facts.dscsa {
            if !self.facts.has_sbdh_parties {
                self.report(rules::shipping_without_parties(&p));
                return true;
            }
            if !self.facts.has_transaction_statement {
                self.report(rules::shipping_without_statement(&p));
                return true;
            }
        }
        for r in &p.repeated {
            self.report(rules::repeated_identifier(&p, r));
        }
        if self.refused.contains(&p.index) {
            return true;
        }
        self.budget.acquire(p.in_flight()) && self.send(Parsed::Event(Box::new(p)))
    }
}
