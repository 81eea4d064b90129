//! A trace written out: JSON (the answer as it is), CSV (one table: a serial's event history
//! with the ownership columns, or a lot's units), and a printable HTML report rendered by
//! minijinja with HTML auto-escaping (templates ending in `.html`), so that nothing a partner
//! sent in master data or events becomes markup. PDF is not written: every PDF route without a
//! browser would mean laying out pages by hand; the HTML report prints from any browser.

use std::sync::LazyLock;

use super::trace::{LotTrace, SerialTrace, Trace};
use super::ComplianceError;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Html,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for (JSON when it names none of ours).
    pub fn from_accept(accept: &str) -> Format {
        let a = accept.to_ascii_lowercase();
        if a.contains("text/csv") {
            Format::Csv
        } else if a.contains("text/html") {
            Format::Html
        } else {
            Format::Json
        }
    }
}

impl std::str::FromStr for Format {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, ComplianceError> {
        match s {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            other => Err(ComplianceError::Invalid(format!(
                "format `{other}` is not one of json, csv, html"
            ))),
        }
    }
}

/// The trace in `format`.
pub fn render(trace: &Trace, format: Format) -> Result<Vec<u8>, ComplianceError> {
    match format {
        Format::Json => {
            serde_json::to_vec(trace).map_err(|e| ComplianceError::Render(e.to_string()))
        }
        Format::Csv => Ok(match trace {
            Trace::Serial(s) => serial_csv(s),
            Trace::Lot(l) => lot_csv(l),
        }
        .into_bytes()),
        Format::Html => html(trace).map(String::into_bytes),
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A field that
/// a spreadsheet would run as a formula (starting with `=`, `+`, `@`, tab or CR) gets a
/// leading `'`, so that a hostile value sent by a partner stays text.
fn field(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn row<'a>(out: &mut String, values: impl IntoIterator<Item = &'a str>) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, v);
    }
    out.push_str("\r\n");
}

fn or_empty(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn serial_csv(t: &SerialTrace) -> String {
    let mut out = String::new();
    row(
        &mut out,
        [
            "epc",
            "event_time",
            "event_type",
            "action",
            "biz_step",
            "disposition",
            "via",
            "read_point",
            "biz_location",
            "source_owner",
            "destination_owner",
            "biz_transactions",
            "document_id",
            "document_sender",
            "transaction_statement",
            "hash_id",
            "event_id",
            "retracted",
        ],
    );
    for e in &t.events {
        let party = |list: &[super::trace::Reference]| {
            list.iter()
                .filter(|r| r.kind.as_deref() == Some("owning_party"))
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let bts = e
            .biz_transactions
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let retracted = e
            .retracted
            .as_ref()
            .map(|r| r.at.clone())
            .unwrap_or_default();
        row(
            &mut out,
            [
                t.epc.as_str(),
                &e.event_time,
                e.event_type,
                or_empty(&e.action),
                or_empty(&e.biz_step),
                or_empty(&e.disposition),
                or_empty(&e.via),
                or_empty(&e.read_point),
                or_empty(&e.biz_location),
                &party(&e.sources),
                &party(&e.destinations),
                &bts,
                &e.document.id,
                or_empty(&e.document.sender),
                if e.document.transaction_statement {
                    "yes"
                } else {
                    "no"
                },
                or_empty(&e.hash_id),
                or_empty(&e.event_id),
                &retracted,
            ],
        );
    }
    out
}

fn lot_csv(t: &LotTrace) -> String {
    let mut out = String::with_capacity(t.serials.len() * 200);
    row(
        &mut out,
        [
            "epc",
            "serial",
            "lot",
            "expiry",
            "status",
            "disposition",
            "owner",
            "location",
            "outermost_container",
            "last_event_time",
            "flags",
        ],
    );
    for u in &t.serials {
        let expiry = u.expiry.map(|d| d.to_string()).unwrap_or_default();
        row(
            &mut out,
            [
                u.epc.as_str(),
                or_empty(&u.serial),
                &t.lot,
                &expiry,
                u.status,
                or_empty(&u.disposition),
                or_empty(&u.owner),
                or_empty(&u.location),
                or_empty(&u.outermost_container),
                or_empty(&u.last_event_time),
                &u.flags.join(" "),
            ],
        );
    }
    out
}

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    // A missing value prints nothing, not "none".
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    // A name ending in .html turns on HTML auto-escaping.
    env.add_template("trace.html", include_str!("templates/trace.html"))
        .expect("the trace report template parses");
    env
});

fn html(trace: &Trace) -> Result<String, ComplianceError> {
    let (kind, value) = match trace {
        Trace::Serial(s) => ("serial", minijinja::Value::from_serialize(s)),
        Trace::Lot(l) => ("lot", minijinja::Value::from_serialize(l)),
    };
    TEMPLATES
        .get_template("trace.html")
        .and_then(|t| t.render(minijinja::context! { kind => kind, t => value }))
        .map_err(|e| ComplianceError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_kept_as_text() {
        let mut out = String::new();
        row(
            &mut out,
            [
                "plain",
                "a,b",
                "say \"hi\"",
                "=HYPERLINK(\"x\")",
                "line\nbreak",
            ],
        );
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",\"line\nbreak\"\r\n"
        );
    }

    #[test]
    fn formats_come_from_accept_or_their_names() {
        assert_eq!(Format::from_accept("text/csv"), Format::Csv);
        assert_eq!(
            Format::from_accept("text/html,application/xhtml+xml"),
            Format::Html
        );
        assert_eq!(Format::from_accept("*/*"), Format::Json);
        assert_eq!("html".parse::<Format>().unwrap(), Format::Html);
        assert!("pdf".parse::<Format>().is_err());
    }
}
