//! Identifier lists of huge events, kept on disk instead of in memory.
//!
//! An event may list up to [`Limits::max_epcs_per_event`](super::Limits) identifiers (a
//! million by default: one commissioning of a whole production run). Held as strings, parsed
//! identifiers and canonical forms for the hash, that is several hundred bytes per identifier.
//! When the reader is given a spill directory ([`EpcisReader::spill_to`](super::EpcisReader)),
//! an event that passes a threshold writes the rest of its lists to an unlinked temporary file
//! ([`SpilledEpcs`], read back in order by whoever consumes the event), and the canonical forms
//! the hash needs sorted go through an external sort: sorted runs on disk, merged at the end.
//! Memory then stays within a few megabytes per event, whatever its size.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::role::EpcRole;

/// Where and from what size the reader spills an event's identifier lists.
#[derive(Debug, Clone)]
pub struct SpillOptions {
    pub dir: PathBuf,
    /// Identifiers an event keeps in memory; from the next one on its lists go to disk.
    pub after: usize,
}

/// A new file in `dir`, removed from the directory at once: the data lives while the handle
/// does, and nothing is left behind however the process ends.
fn unlinked_file(dir: &Path, what: &str) -> io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = dir.join(format!(
        ".{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// Reads length-prefixed records of a file from an offset, through its own buffer (several
/// readers can share one file: positioned reads, no shared cursor).
struct RecordReader<'a> {
    file: &'a File,
    offset: u64,
    end: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl<'a> RecordReader<'a> {
    const BUF: usize = 64 * 1024;

    fn new(file: &'a File, start: u64, end: u64) -> Self {
        RecordReader {
            file,
            offset: start,
            end,
            buf: Vec::new(),
            pos: 0,
        }
    }

    /// Makes at least `n` bytes available at `pos`; false at the end of the records.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.buf.len() - self.pos >= n {
            return Ok(true);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        while self.buf.len() < n {
            if self.offset >= self.end {
                return if self.buf.is_empty() {
                    Ok(false)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "spill file ends inside a record",
                    ))
                };
            }
            let want = (Self::BUF.max(n) as u64).min(self.end - self.offset) as usize;
            let have = self.buf.len();
            self.buf.resize(have + want, 0);
            let got = self.file.read_at(&mut self.buf[have..], self.offset)?;
            self.buf.truncate(have + got);
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "spill file is shorter than written",
                ));
            }
            self.offset += got as u64;
        }
        Ok(true)
    }

    /// The next record: a tag byte and its bytes.
    fn next_record(&mut self) -> io::Result<Option<(u8, &[u8])>> {
        if !self.fill(5)? {
            return Ok(None);
        }
        let tag = self.buf[self.pos];
        let len = u32::from_le_bytes(self.buf[self.pos + 1..self.pos + 5].try_into().unwrap());
        let len = len as usize;
        if !self.fill(5 + len)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "spill file ends inside a record",
            ));
        }
        let start = self.pos + 5;
        self.pos = start + len;
        Ok(Some((tag, &self.buf[start..start + len])))
    }
}

fn write_record(out: &mut impl Write, tag: u8, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "value over 4 GiB"))?;
    out.write_all(&[tag])?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

fn role_tag(role: EpcRole) -> u8 {
    match role {
        EpcRole::Epc => 0,
        EpcRole::Child => 1,
        EpcRole::Input => 2,
        EpcRole::Output => 3,
        EpcRole::Parent => 4,
    }
}

fn tag_role(tag: u8) -> io::Result<EpcRole> {
    Ok(match tag {
        0 => EpcRole::Epc,
        1 => EpcRole::Child,
        2 => EpcRole::Input,
        3 => EpcRole::Output,
        4 => EpcRole::Parent,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unknown record in spill file",
            ))
        }
    })
}

/// The identifier lists of one event that went to disk: each identifier as written, with its
/// role, in document order. A list is either wholly here or wholly in the event.
pub struct SpilledEpcs {
    file: File,
    writer: Option<BufWriter<File>>,
    len: u64,
    bytes: u64,
    /// Identifiers per list: epcList, childEPCs, inputEPCList, outputEPCList.
    counts: [u64; 4],
    repeated: Vec<(EpcRole, String)>,
}

impl std::fmt::Debug for SpilledEpcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpilledEpcs")
            .field("len", &self.len)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

/// Spilled lists compare by their size only (their content is on disk).
impl PartialEq for SpilledEpcs {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.counts == other.counts
    }
}

impl SpilledEpcs {
    pub(crate) fn create(dir: &Path) -> io::Result<SpilledEpcs> {
        let file = unlinked_file(dir, "epcs")?;
        let writer = BufWriter::with_capacity(64 * 1024, file.try_clone()?);
        Ok(SpilledEpcs {
            file,
            writer: Some(writer),
            len: 0,
            bytes: 0,
            counts: [0; 4],
            repeated: Vec::new(),
        })
    }

    pub(crate) fn push(&mut self, role: EpcRole, uri: &str) -> io::Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("spilled list already finished"))?;
        write_record(w, role_tag(role), uri.as_bytes())?;
        self.len += 1;
        self.bytes += 5 + uri.len() as u64;
        if let Some(i) = list_index(role) {
            self.counts[i] += 1;
        }
        Ok(())
    }

    /// Ends writing (flushes); the list can then be read.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            w.flush()?;
        }
        Ok(())
    }

    /// Identifiers listed more than once in one list, in their canonical hash form (the
    /// GS1 Digital Link of an EPC; other URIs as written), with the list: found while the
    /// reader sorted the lists for the event hash (so only when hashing is on).
    pub fn repeated(&self) -> &[(EpcRole, String)] {
        &self.repeated
    }

    pub(crate) fn set_repeated(&mut self, repeated: Vec<(EpcRole, String)>) {
        self.repeated = repeated;
    }

    /// Number of identifiers.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Identifiers in this role's list.
    pub fn count(&self, role: EpcRole) -> u64 {
        list_index(role).map_or(0, |i| self.counts[i])
    }

    /// The identifiers in document order, `chunk` at a time: `f` gets (role, identifier as
    /// written) pairs and returns whether to go on.
    pub fn for_each_chunk(
        &self,
        chunk: usize,
        mut f: impl FnMut(&[(EpcRole, String)]) -> bool,
    ) -> io::Result<()> {
        if self.writer.is_some() {
            return Err(io::Error::other("spilled list is still being written"));
        }
        let mut reader = RecordReader::new(&self.file, 0, self.bytes);
        let mut items = Vec::with_capacity(chunk.min(1 << 16));
        while let Some((tag, bytes)) = reader.next_record()? {
            let uri = std::str::from_utf8(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            items.push((tag_role(tag)?, uri.to_string()));
            if items.len() >= chunk {
                if !f(&items) {
                    return Ok(());
                }
                items.clear();
            }
        }
        if !items.is_empty() {
            f(&items);
        }
        Ok(())
    }
}

fn list_index(role: EpcRole) -> Option<usize> {
    match role {
        EpcRole::Epc => Some(0),
        EpcRole::Child => Some(1),
        EpcRole::Input => Some(2),
        EpcRole::Output => Some(3),
        EpcRole::Parent => None,
    }
}

/// Strings sorted in bounded memory: kept in one buffer up to `budget` bytes, then sorted and
/// written as a run to an unlinked file; [`ExternalSort::merge`] yields them all in byte order.
pub(crate) struct ExternalSort {
    dir: PathBuf,
    budget: usize,
    text: String,
    spans: Vec<(u32, u32)>,
    runs: Option<File>,
    /// (start, end) of each run in the runs file.
    run_bounds: Vec<(u64, u64)>,
    written: u64,
}

impl ExternalSort {
    pub(crate) fn new(dir: &Path, budget: usize) -> Self {
        ExternalSort {
            dir: dir.to_path_buf(),
            budget,
            text: String::new(),
            spans: Vec::new(),
            runs: None,
            run_bounds: Vec::new(),
            written: 0,
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> io::Result<()> {
        if !self.text.is_empty() && self.text.len() + s.len() > self.budget {
            self.write_run()?;
        }
        let start = self.text.len() as u32;
        self.text.push_str(s);
        self.spans.push((start, self.text.len() as u32));
        Ok(())
    }

    fn sort_in_memory(&mut self) {
        let text = &self.text;
        self.spans.sort_unstable_by(|a, b| {
            text.as_bytes()[a.0 as usize..a.1 as usize]
                .cmp(&text.as_bytes()[b.0 as usize..b.1 as usize])
        });
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.sort_in_memory();
        if self.runs.is_none() {
            self.runs = Some(unlinked_file(&self.dir, "sort")?);
        }
        let file = self.runs.as_ref().expect("just set");
        // Positioned after what earlier runs wrote.
        let start = self.written;
        let mut bytes = Vec::with_capacity(self.text.len() + 5 * self.spans.len());
        for &(a, b) in &self.spans {
            write_record(&mut bytes, 0, &self.text.as_bytes()[a as usize..b as usize])?;
        }
        file.write_all_at(&bytes, start)?;
        self.written += bytes.len() as u64;
        self.run_bounds.push((start, self.written));
        self.text.clear();
        self.spans.clear();
        Ok(())
    }

    /// Every string pushed, in byte order, to `f`.
    pub(crate) fn merge(&mut self, mut f: impl FnMut(&str)) -> io::Result<()> {
        self.sort_in_memory();
        let Some(file) = self.runs.as_ref() else {
            for &(a, b) in &self.spans {
                f(&self.text[a as usize..b as usize]);
            }
            return Ok(());
        };
        // Sources: the runs on disk, then what is still in memory (as the last source).
        let mut readers: Vec<RecordReader<'_>> = self
            .run_bounds
            .iter()
            .map(|&(a, b)| RecordReader::new(file, a, b))
            .collect();
        let mut memory = self.spans.iter();
        let mem_source = readers.len();
        // Min-heap of (current string, source).
        let mut heap: BinaryHeap<std::cmp::Reverse<(Vec<u8>, usize)>> = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((_, b)) = r.next_record()? {
                heap.push(std::cmp::Reverse((b.to_vec(), i)));
            }
        }
        let text = &self.text;
        let mem_next = |it: &mut std::slice::Iter<'_, (u32, u32)>| {
            it.next()
                .map(|&(a, b)| text.as_bytes()[a as usize..b as usize].to_vec())
        };
        if let Some(b) = mem_next(&mut memory) {
            heap.push(std::cmp::Reverse((b, mem_source)));
        }
        while let Some(std::cmp::Reverse((bytes, source))) = heap.pop() {
            let s = std::str::from_utf8(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            f(s);
            let next = if source == mem_source {
                mem_next(&mut memory)
            } else {
                readers[source].next_record()?.map(|(_, b)| b.to_vec())
            };
            if let Some(b) = next {
                heap.push(std::cmp::Reverse((b, source)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_sort_merges_runs_and_memory_in_byte_order() {
        let dir = std::env::temp_dir();
        // A budget of 64 bytes forces many runs.
        let mut sort = ExternalSort::new(&dir, 64);
        let mut expected = Vec::new();
        for i in 0..500u32 {
            let s = format!(
                "https://id.gs1.org/01/00361414123458/21/{}",
                (i * 7919) % 1000
            );
            sort.push(&s).unwrap();
            expected.push(s);
        }
        expected.sort();
        assert!(sort.run_bounds.len() > 10, "the budget must force runs");
        let mut got = Vec::new();
        sort.merge(|s| got.push(s.to_string())).unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn external_sort_without_runs_sorts_in_memory() {
        let mut sort = ExternalSort::new(&std::env::temp_dir(), 1 << 20);
        for s in ["b", "a", "c", "a"] {
            sort.push(s).unwrap();
        }
        let mut got = Vec::new();
        sort.merge(|s| got.push(s.to_string())).unwrap();
        assert_eq!(got, ["a", "a", "b", "c"]);
        assert!(sort.runs.is_none());
    }

    #[test]
    fn spilled_list_reads_back_in_order_and_in_chunks() {
        let mut list = SpilledEpcs::create(&std::env::temp_dir()).unwrap();
        for i in 0..1000 {
            let role = if i % 3 == 0 {
                EpcRole::Child
            } else {
                EpcRole::Epc
            };
            list.push(role, &format!("urn:epc:id:sgtin:0361414.012345.{i}"))
                .unwrap();
        }
        assert!(
            list.for_each_chunk(10, |_| true).is_err(),
            "unfinished lists are not read"
        );
        list.finish().unwrap();
        assert_eq!(list.len(), 1000);
        assert_eq!(list.count(EpcRole::Child), 334);
        let mut seen = Vec::new();
        let mut chunks = 0;
        list.for_each_chunk(64, |c| {
            chunks += 1;
            assert!(c.len() <= 64);
            seen.extend(c.iter().cloned());
            true
        })
        .unwrap();
        assert_eq!(chunks, 16);
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen[999].1, "urn:epc:id:sgtin:0361414.012345.999");
        assert_eq!(seen[999].0, EpcRole::Child);
        assert_eq!(seen[1].0, EpcRole::Epc);
    }
}
