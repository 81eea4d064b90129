//! Byte source under the XML tokenizer: skips a UTF-8 BOM, counts bytes (size limit), caps
//! the size of a single token, and records newline offsets so line:column can be computed
//! for any position in the current token without rescanning the document.

use std::io::{self, BufRead, Read};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which limit the source refused to cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceLimit {
    Bytes,
    Token,
}

pub(crate) struct Source<R> {
    inner: R,
    /// Bytes consumed so far (BOM excluded): the same offsets quick-xml reports.
    pos: u64,
    max_bytes: u64,
    token_start: u64,
    max_token: u64,
    pub(crate) limit_hit: Option<SourceLimit>,
    bom_checked: bool,
    /// Newlines before `window[0]` that were forgotten, and the offset of the last of them.
    nl_forgotten: u64,
    last_forgotten_nl: Option<u64>,
    /// Offsets of newlines not yet forgotten (only those of the current token in practice).
    window: Vec<u64>,
}

impl<R: BufRead> Source<R> {
    pub(crate) fn new(inner: R, max_bytes: u64, max_token: u64) -> Self {
        Source {
            inner,
            pos: 0,
            max_bytes,
            token_start: 0,
            max_token,
            limit_hit: None,
            bom_checked: false,
            nl_forgotten: 0,
            last_forgotten_nl: None,
            window: Vec::new(),
        }
    }

    /// Start of a new token at `offset`: newline offsets before it are folded into a count.
    pub(crate) fn begin_token(&mut self, offset: u64) {
        self.token_start = offset;
        let keep_from = self.window.partition_point(|&o| o < offset);
        if keep_from > 0 {
            self.nl_forgotten += keep_from as u64;
            self.last_forgotten_nl = Some(self.window[keep_from - 1]);
            self.window.drain(..keep_from);
        }
    }

    /// 1-based line and byte column of `offset` (which must not precede the current token).
    pub(crate) fn line_col(&self, offset: u64) -> (u32, u32) {
        let idx = self.window.partition_point(|&o| o < offset);
        let line = self.nl_forgotten + idx as u64 + 1;
        let last_nl = if idx > 0 {
            Some(self.window[idx - 1])
        } else {
            self.last_forgotten_nl
        };
        let col = match last_nl {
            Some(nl) => offset.saturating_sub(nl),
            None => offset + 1,
        };
        (clamp(line), clamp(col))
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.pos
    }

    /// Capacity of the newline window (for the bounded-memory test).
    pub(crate) fn window_capacity(&self) -> usize {
        self.window.capacity()
    }
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl<R: BufRead> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if !self.bom_checked {
            let buf = self.inner.fill_buf()?;
            // A BOM split over two reads is not worth handling: no real reader splits 3 bytes.
            if buf.starts_with(BOM) {
                self.inner.consume(BOM.len());
            }
            self.bom_checked = true;
        }
        let pos = self.pos;
        let max_bytes = self.max_bytes;
        let token_end = self.token_start.saturating_add(self.max_token);
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            return Ok(buf);
        }
        if pos >= max_bytes {
            self.limit_hit = Some(SourceLimit::Bytes);
            return Err(io::Error::other("document size limit exceeded"));
        }
        if pos >= token_end {
            self.limit_hit = Some(SourceLimit::Token);
            return Err(io::Error::other("token length limit exceeded"));
        }
        let allowed = (max_bytes - pos).min(token_end - pos);
        let n = buf
            .len()
            .min(usize::try_from(allowed).unwrap_or(usize::MAX));
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        if amt == 0 {
            return;
        }
        // The bytes being consumed are at the front of the inner buffer; fill_buf on a
        // non-empty buffer does no I/O.
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            record_newlines(&buf[..n], self.pos, &mut self.window);
        }
        self.pos += amt as u64;
        self.inner.consume(amt);
    }
}

/// Push the offsets of every `\n` in `bytes` (which starts at `base`). Skips eight bytes at a
/// time when they hold no newline: most XML lines are longer than that.
fn record_newlines(bytes: &[u8], base: u64, out: &mut Vec<u64>) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0usize;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ NL;
        if word.wrapping_sub(LO) & !word & HI != 0 {
            for (i, &b) in chunk.iter().enumerate() {
                if b == b'\n' {
                    out.push(base + (at + i) as u64);
                }
            }
        }
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == b'\n' {
            out.push(base + (at + i) as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_follow_newlines() {
        let mut s = Source::new(&b"ab\ncd\n\nef"[..], u64::MAX, u64::MAX);
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(1), (1, 2));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(7), (4, 1));
        s.begin_token(7);
        assert_eq!(s.line_col(8), (4, 2));
        assert!(s.window.is_empty());
    }

    #[test]
    fn newline_scan_finds_every_newline() {
        let text: Vec<u8> = (0..300u32)
            .map(|i| {
                if i % 7 == 0 || i % 13 == 5 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        let mut fast = Vec::new();
        record_newlines(&text, 10, &mut fast);
        let slow: Vec<u64> = text
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| 10 + i as u64)
            .collect();
        assert_eq!(fast, slow);
    }

    #[test]
    fn bom_is_skipped_and_not_counted() {
        let mut s = Source::new(&b"\xEF\xBB\xBF<a/>"[..], u64::MAX, u64::MAX);
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"<a/>");
        assert_eq!(s.bytes_read(), 4);
    }

    #[test]
    fn byte_limit_stops_reading() {
        let mut s = Source::new(&b"0123456789"[..], 4, u64::MAX);
        let mut all = Vec::new();
        assert!(s.read_to_end(&mut all).is_err());
        assert_eq!(all, b"0123");
        assert_eq!(s.limit_hit, Some(SourceLimit::Bytes));
    }
}
