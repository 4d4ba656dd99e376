//! The journal's bytes on disk: reading it line by line whatever state a crash or an editor
//! left it in, moving what cannot be read to a quarantine file (bytes intact), and replacing
//! the file atomically.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Entry;
use crate::error::{Error, Result};

/// What a journal file holds, line by line.
pub(super) struct Scan {
    /// The readable entries with their line numbers (from 1).
    pub entries: Vec<(u64, Entry)>,
    /// The bytes of the readable (and blank) lines, each ended by `\n`: the journal without its
    /// damage.
    pub kept: Vec<u8>,
    /// Lines that are not a journal entry (bad JSON, invalid UTF-8, unknown entry): line number,
    /// the line's bytes as found (without its `\n`), and why it was not read.
    pub unreadable: Vec<Unreadable>,
    /// Bytes after the last `\n`: an entry whose write never finished (every entry is written
    /// with its `\n` in one write, then synced), so never confirmed to anyone.
    pub torn_tail: Option<Vec<u8>>,
}

pub(super) struct Unreadable {
    pub line: u64,
    pub bytes: Vec<u8>,
    pub error: String,
}

impl Scan {
    pub fn is_damaged(&self) -> bool {
        !self.unreadable.is_empty() || self.torn_tail.is_some()
    }
}

/// Splits `bytes` on `\n` (a line may end in `\r\n`; no line needs to be UTF-8) and reads each
/// line as an entry.
pub(super) fn scan(bytes: &[u8]) -> Scan {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // `split` always yields the (possibly empty) piece after the last `\n`.
    let tail = lines.pop().unwrap_or_default();
    let mut scan = Scan {
        entries: Vec::new(),
        kept: Vec::with_capacity(bytes.len()),
        unreadable: Vec::new(),
        torn_tail: (!tail.iter().all(u8::is_ascii_whitespace)).then(|| tail.to_vec()),
    };
    for (index, raw) in lines.into_iter().enumerate() {
        let line = index as u64 + 1;
        let text = raw.strip_suffix(b"\r").unwrap_or(raw);
        if text.iter().all(u8::is_ascii_whitespace) {
            scan.kept.extend_from_slice(raw);
            scan.kept.push(b'\n');
            continue;
        }
        match serde_json::from_slice::<Entry>(text) {
            Ok(entry) => {
                scan.entries.push((line, entry));
                scan.kept.extend_from_slice(raw);
                scan.kept.push(b'\n');
            }
            Err(e) => scan.unreadable.push(Unreadable {
                line,
                bytes: raw.to_vec(),
                error: e.to_string(),
            }),
        }
    }
    scan
}

/// Where the unreadable lines of the journal at `journal` are moved: beside it, its name with
/// `.quarantine` added.
pub fn quarantine_path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".quarantine");
    journal.with_file_name(name)
}

/// The file locked while the journal at `journal` is open: beside it, its name with `.lock`
/// added (so that `till.a` and `till.b` have their own locks, and a journal named `x.lock`
/// is not its own lock file).
pub(super) fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    journal.with_file_name(name)
}

/// Appends `lines` (each followed by `\n`) to the file at `path` and syncs it.
pub(super) fn append_synced(path: &Path, lines: &[&[u8]]) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Replaces the file at `path` with `bytes`, all or nothing: a temporary file beside it is
/// written and synced, renamed over it, and the directory synced.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let context = |what: &str| format!("{what} {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".journal-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(context("creating a temporary file to replace"), e))?;
    // The copy keeps the file's permissions (a temporary file is private to its owner).
    if let Ok(metadata) = fs::metadata(path) {
        tmp.as_file()
            .set_permissions(metadata.permissions())
            .map_err(|e| Error::io(context("setting the permissions of the new copy of"), e))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(context("writing the new copy of"), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(context("replacing"), e.error))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing the directory {}", dir.display()), e))
}

/// Reads the whole file.
pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}
