//! How an allocation's serials are written: JSON, CSV or plain lines, in chunks.

use super::Issued;

/// How an allocation's serials are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Csv,
    Text,
}

impl Output {
    pub fn content_type(self) -> &'static str {
        match self {
            Output::Json => "application/json",
            Output::Csv => "text/csv; charset=utf-8",
            Output::Text => "text/plain; charset=utf-8",
        }
    }
}

/// Writes an allocation in `output` form, in chunks of about 64 KB, to `send`.
pub fn write_issued(issued: &Issued, output: Output, mut send: impl FnMut(Vec<u8>) -> bool) {
    const CHUNK: usize = 64 * 1024;
    let mut buf = Vec::with_capacity(CHUNK + 64);
    match output {
        Output::Json => {
            buf.extend_from_slice(b"{\"allocation\":");
            serde_json::to_writer(&mut buf, &issued.allocation).expect("serialise allocation");
            buf.extend_from_slice(b",\"serials\":[");
        }
        Output::Csv => buf.extend_from_slice(b"gtin,serial\n"),
        Output::Text => {}
    }
    let gtin = issued.allocation.gtin.as_bytes();
    let mut first = true;
    let mut open = true;
    issued.for_each(|serial| {
        if !open {
            return;
        }
        match output {
            // Serials are digits and capital letters: nothing to escape.
            Output::Json => {
                if !first {
                    buf.push(b',');
                }
                buf.push(b'"');
                buf.extend_from_slice(serial);
                buf.push(b'"');
            }
            Output::Csv => {
                buf.extend_from_slice(gtin);
                buf.push(b',');
                buf.extend_from_slice(serial);
                buf.push(b'\n');
            }
            Output::Text => {
                buf.extend_from_slice(serial);
                buf.push(b'\n');
            }
        }
        first = false;
        if buf.len() >= CHUNK {
            open = send(std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 64)));
        }
    });
    if output == Output::Json {
        buf.extend_from_slice(b"]}\n");
    }
    if open && !buf.is_empty() {
        send(buf);
    }
}
