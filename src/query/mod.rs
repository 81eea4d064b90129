//! EPCIS event queries, the use case behind `GET /events` and `dscsa-exchange export`
//! (docs/QUERY.md): parameters parsed into a stored-form filter ([`params`]), what the caller
//! may see ([`Viewer`]), pages over a stable key with signed tokens ([`token`]), and the events
//! rebuilt from their rows ([`rebuild`]) for the streaming writers.

pub mod params;
pub mod rebuild;
pub mod token;

use std::io::Write;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use crate::epcis::write::{DocumentWriter, Format, WriteOptions, WriteSummary};
use crate::epcis::{DocumentKind, DocumentStart, EpcisVersion, Event, Item, Timestamp};
use crate::store::query::{self as q, After, PageRequest, Visibility};
pub use params::{parse, EventQuery};
pub use token::TokenError;

/// Why a query was not answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter the binding does not define, or a value it cannot have
    /// (QueryParameterException).
    #[error("query parameter `{name}` = `{value}`: {reason}")]
    Parameter {
        name: String,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
    /// More events match than `maxEventCount` allows (QueryTooLargeException).
    #[error("more than {max} events match (maxEventCount); narrow the query or page through it with perPage")]
    TooLarge { max: u64 },
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("writing the result: {0}")]
    Write(#[from] std::io::Error),
}

/// Who asks, and so what they may see.
#[derive(Debug, Clone)]
pub struct Viewer {
    visibility: Visibility,
    /// Binds page tokens to the caller: a token is of no use to another partner.
    who: String,
}

impl Viewer {
    /// Sees every event: regulators, compliance officers, administrators, the operator's CLI.
    pub fn everything(who: &str) -> Viewer {
        Viewer {
            visibility: Visibility::Everything,
            who: format!("all:{who}"),
        }
    }

    /// The viewer an authenticated partner is: everything for the roles that read everything.
    pub fn of(caller: &crate::partners::Caller) -> Viewer {
        if caller.role.reads_everything() {
            return Viewer::everything(&caller.actor());
        }
        let gln = caller.gln.as_deref().and_then(|g| g.parse().ok());
        Viewer::partner(caller.partner_id, gln.as_ref())
    }

    /// A trading partner: the events of documents it sent, and those whose sources or
    /// destinations, or whose document's SBDH sender or receiver, name its GLN.
    pub fn partner(partner_id: i64, gln: Option<&crate::gs1::Gln>) -> Viewer {
        let (party_key, sbdh_forms) = match gln {
            Some(g) => (Some(format!("414{}", g.as_str())), sbdh_forms(g.as_str())),
            None => (None, Vec::new()),
        };
        Viewer {
            visibility: Visibility::Partner {
                partner_id,
                party_key,
                sbdh_forms,
            },
            who: format!("partner:{partner_id}"),
        }
    }
}

/// How an SBDH may name a GLN: the 13 digits (Authority GLN), or an SGLN URN with extension 0
/// for each company prefix length the GLN can have (the length is not known here).
fn sbdh_forms(gln: &str) -> Vec<String> {
    let mut forms = vec![gln.to_string()];
    if gln.len() == 13 {
        for cp in 6..=12 {
            let (prefix, rest) = gln[..12].split_at(cp);
            forms.push(format!("urn:epc:id:sgln:{prefix}.{rest}.0"));
        }
    }
    forms
}

/// The key that signs page tokens: read from the database once per holder (the server keeps
/// one for its life, an export one for its pages), made there on first use
/// (`store::query::secret`), so every server process on the database shares it.
#[derive(Clone, Default)]
pub struct PageKey(Arc<OnceLock<Vec<u8>>>);

impl PageKey {
    fn get(&self, conn: &mut PgConnection) -> Result<&[u8], QueryError> {
        if let Some(k) = self.0.get() {
            return Ok(k);
        }
        let k = q::secret(conn, "page-token")?;
        Ok(self.0.get_or_init(|| k))
    }
}

impl std::fmt::Debug for PageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageKey(..)")
    }
}

/// One page of a query's events.
#[derive(Debug)]
pub struct Page {
    pub events: Vec<Event>,
    /// The token of the next page (absent on the last page) and when it expires.
    pub next: Option<(String, DateTime<Utc>)>,
}

/// Where a page starts and what the query has served.
struct Cursor {
    after: Option<After>,
    snapshot: String,
    served: u64,
}

/// The page the query's token (or none: the first page) names.
pub fn events_page(
    conn: &mut PgConnection,
    key: &PageKey,
    viewer: &Viewer,
    query: &EventQuery,
) -> Result<Page, QueryError> {
    let key = key.get(conn)?;
    let digest = token::query_digest(&query.fingerprint, &viewer.who);
    let now = Utc::now();
    let cursor = match &query.next_page_token {
        Some(text) => {
            let t = token::verify(key, text, &digest, now)?;
            Cursor {
                after: Some(t.after().ok_or(TokenError::Forged)?),
                snapshot: t.s,
                served: t.n,
            }
        }
        None => Cursor {
            after: None,
            snapshot: q::snapshot(conn)?,
            served: 0,
        },
    };
    if let (Some(max), None) = (query.max_event_count, &cursor.after) {
        let over = fetch(conn, viewer, query, &cursor, max as i64 + 1)?;
        if over.len() as u64 > max {
            return Err(QueryError::TooLarge { max });
        }
    }
    let left = query
        .event_count_limit
        .map_or(u64::MAX, |l| l.saturating_sub(cursor.served));
    let limit = u64::from(query.per_page).min(left);
    let mut hits = fetch(conn, viewer, query, &cursor, limit as i64 + 1)?;
    let more = hits.len() as u64 > limit && limit < left;
    hits.truncate(limit as usize);
    let next = match (more, hits.last()) {
        (true, Some(last)) => {
            let expires = now + token::LIFETIME;
            let t = token::PageToken {
                q: digest,
                t: last.time.timestamp_micros(),
                i: last.id,
                s: cursor.snapshot.clone(),
                n: cursor.served + hits.len() as u64,
                x: expires.timestamp(),
            };
            Some((token::sign(key, &t), expires))
        }
        _ => None,
    };
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let events = rebuild::events(q::load(conn, &ids)?, &ids);
    Ok(Page { events, next })
}

fn fetch(
    conn: &mut PgConnection,
    viewer: &Viewer,
    query: &EventQuery,
    cursor: &Cursor,
    limit: i64,
) -> Result<Vec<q::Hit>, QueryError> {
    Ok(q::page(
        conn,
        &PageRequest {
            filter: &query.filter,
            visibility: &viewer.visibility,
            order: query.order,
            descending: query.descending,
            after: cursor.after.clone(),
            snapshot: &cursor.snapshot,
            limit,
        },
    )?)
}

/// One event by its eventID or hash id, if the viewer may see it (an invisible event is
/// answered exactly like one that does not exist).
pub fn event_by_id(
    conn: &mut PgConnection,
    key: &PageKey,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<Event>, QueryError> {
    let query = parse(&[
        ("EQ_eventID".to_string(), id.to_string()),
        ("perPage".to_string(), "1".to_string()),
    ])?;
    Ok(events_page(conn, key, viewer, &query)?
        .events
        .into_iter()
        .next())
}

/// The first item of a document we write: its kind, the version of the format, created now.
pub fn document_start(format: Format, kind: DocumentKind) -> Item {
    let now = Utc::now();
    Item::DocumentStart(DocumentStart {
        version: match format {
            Format::Xml12 => EpcisVersion::V1,
            _ => EpcisVersion::V2,
        },
        kind,
        schema_version: None,
        creation_date: Some(Timestamp {
            text: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            value: Some(now.fixed_offset()),
        }),
    })
}

/// Events written per page when a whole result is streamed.
const EXPORT_PAGE: u32 = 1000;

/// Streams every event of the query as one EPCIS document: at most two pages of events in
/// memory at a time, whatever the size of the result. The pages are read and rebuilt on a
/// second thread while this one writes the page before (the two halves cost about the same).
pub fn export<W: Write>(
    conn: &mut PgConnection,
    viewer: &Viewer,
    query: &EventQuery,
    format: Format,
    options: WriteOptions,
    out: W,
) -> Result<(W, WriteSummary), QueryError> {
    let mut query = query.clone();
    query.per_page = EXPORT_PAGE;
    query.next_page_token = None;
    let mut writer = DocumentWriter::new(out, format, options);
    writer.item(&document_start(format, DocumentKind::EpcisDocument))?;
    let key = PageKey::default();
    std::thread::scope(|scope| {
        // One page waits while one is written: memory stays bounded.
        let (pages, received) = std::sync::mpsc::sync_channel::<Result<Vec<Event>, QueryError>>(1);
        let reader = scope.spawn(move || loop {
            let page = events_page(conn, &key, viewer, &query);
            let (events, next) = match page {
                Ok(p) => (Ok(p.events), p.next),
                Err(e) => (Err(e), None),
            };
            // The writer stopped (it failed): nothing more to read.
            if pages.send(events).is_err() {
                return;
            }
            match next {
                Some((t, _)) => query.next_page_token = Some(t),
                None => return,
            }
        });
        let mut written = Ok(());
        for page in received.iter() {
            written = page.and_then(|events| {
                events
                    .iter()
                    .try_for_each(|ev| writer.event(ev))
                    .map_err(QueryError::from)
            });
            if written.is_err() {
                break;
            }
        }
        drop(received);
        reader.join().expect("the export's reading thread panicked");
        written
    })?;
    Ok(writer.finish()?)
}
