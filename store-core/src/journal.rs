//! The till's durable journal: every sale is appended and fsynced before it is sent, so a sale
//! the till has confirmed survives a database outage, a network blip or a crash of the till, and
//! is sent again (with its original sale key and time) until the database has it exactly once.
//!
//! The file is JSON lines. A sale is pending from its `sale` entry until a `done` entry (the
//! database has it) or a `cancelled` entry (refused while the cashier was there to fix it). A
//! queued sale that the database refuses on replay gets a `refused` entry with the reason: it
//! stays in the journal, visible, and is never dropped silently.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checkout::{CheckoutError, Receipt, Sale, submit};
use crate::error::{Error, Result};
use crate::pool::Store;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Entry {
    Sale { sale: Sale },
    Done { sale_key: Uuid, purchase_id: i64 },
    Cancelled { sale_key: Uuid },
    Refused { sale_key: Uuid, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedSale {
    pub sale: Sale,
    pub reason: String,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    _lock: File,
    /// Sales not yet known to be in the database, in the order they were made.
    pending: BTreeMap<u64, Sale>,
    refused: Vec<RefusedSale>,
    next_seq: u64,
    entries: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and takes it for this process: a second till
    /// on the same journal is refused.
    pub fn open(path: impl Into<PathBuf>) -> Result<Journal> {
        let path = path.into();
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let lock_path = path.with_extension("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            return Err(Error::File {
                path: path.display().to_string(),
                message:
                    "this journal is in use by another till (give each till its own --journal)"
                        .into(),
            });
        }
        let mut journal = Journal {
            file: open_append(&path)?,
            path,
            _lock: lock,
            pending: BTreeMap::new(),
            refused: Vec::new(),
            next_seq: 0,
            entries: 0,
        };
        journal.load()?;
        Ok(journal)
    }

    fn load(&mut self) -> Result<()> {
        let reader = BufReader::new(
            File::open(&self.path)
                .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?,
        );
        let lines: Vec<String> = reader
            .lines()
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(format!("reading {}", self.path.display()), e))?;
        let last = lines.len();
        let mut valid_bytes = 0u64;
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => {
                    self.apply(entry);
                    valid_bytes += line.len() as u64 + 1;
                }
                // A last line cut short by a crash was never acknowledged: drop it.
                Err(_) if i + 1 == last => {
                    tracing::warn!("{}: ignoring a torn last entry", self.path.display());
                    self.file
                        .set_len(valid_bytes)
                        .map_err(|e| Error::io("truncating a torn journal entry", e))?;
                }
                Err(e) => {
                    return Err(Error::AtLine {
                        path: self.path.display().to_string(),
                        line: i as u64 + 1,
                        field: "entry".into(),
                        message: format!("unreadable journal entry: {e}"),
                    });
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, entry: Entry) {
        self.entries += 1;
        match entry {
            Entry::Sale { sale } => {
                self.pending.retain(|_, s| s.sale_key != sale.sale_key);
                self.refused.retain(|r| r.sale.sale_key != sale.sale_key);
                self.pending.insert(self.next_seq, sale);
                self.next_seq += 1;
            }
            Entry::Done { sale_key, .. } | Entry::Cancelled { sale_key } => {
                self.pending.retain(|_, s| s.sale_key != sale_key);
                self.refused.retain(|r| r.sale.sale_key != sale_key);
            }
            Entry::Refused { sale_key, reason } => {
                let seq = self
                    .pending
                    .iter()
                    .find(|(_, s)| s.sale_key == sale_key)
                    .map(|(k, _)| *k);
                if let Some(sale) = seq.and_then(|k| self.pending.remove(&k)) {
                    self.refused.push(RefusedSale { sale, reason });
                }
            }
        }
    }

    fn append(&mut self, entry: Entry, durable: bool) -> Result<()> {
        let mut line = serde_json::to_vec(&entry).expect("journal entries serialise");
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))?;
        if durable {
            self.file
                .sync_data()
                .map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))?;
        }
        self.apply(entry);
        Ok(())
    }

    /// Makes `sale` durable: when this returns, a crash cannot lose it.
    pub fn record(&mut self, sale: &Sale) -> Result<()> {
        self.append(Entry::Sale { sale: sale.clone() }, true)
    }

    /// The database has the sale. (Not synced: losing this line only means one idempotent
    /// resend.)
    pub fn mark_done(&mut self, sale_key: Uuid, purchase_id: i64) -> Result<()> {
        self.append(
            Entry::Done {
                sale_key,
                purchase_id,
            },
            false,
        )?;
        self.compact_if_idle()
    }

    /// Refused while the cashier was there to change it: no longer owed to the database.
    pub fn cancel(&mut self, sale_key: Uuid) -> Result<()> {
        self.append(Entry::Cancelled { sale_key }, true)
    }

    /// A queued sale the database refused on replay: kept, with the reason, until a person
    /// deals with it.
    pub fn mark_refused(&mut self, sale_key: Uuid, reason: String) -> Result<()> {
        self.append(Entry::Refused { sale_key, reason }, true)
    }

    pub fn pending(&self) -> Vec<Sale> {
        self.pending.values().cloned().collect()
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    pub fn refused(&self) -> &[RefusedSale] {
        &self.refused
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// When nothing is pending, rewrites the file with only what must be kept (refused sales),
    /// so that it does not grow for ever.
    fn compact_if_idle(&mut self) -> Result<()> {
        if !self.pending.is_empty() || self.entries < 1000 {
            return Ok(());
        }
        let tmp = self.path.with_extension("compact");
        {
            let mut out = File::create(&tmp)
                .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
            for r in &self.refused {
                for entry in [
                    Entry::Sale {
                        sale: r.sale.clone(),
                    },
                    Entry::Refused {
                        sale_key: r.sale.sale_key,
                        reason: r.reason.clone(),
                    },
                ] {
                    let mut line = serde_json::to_vec(&entry).expect("serialises");
                    line.push(b'\n');
                    out.write_all(&line)
                        .map_err(|e| Error::io("writing the compacted journal", e))?;
                }
            }
            out.sync_all()
                .map_err(|e| Error::io("syncing the compacted journal", e))?;
        }
        fs::rename(&tmp, &self.path)
            .map_err(|e| Error::io("replacing the journal with its compacted copy", e))?;
        if let Some(Ok(dir)) = self.path.parent().map(File::open) {
            let _ = dir.sync_all();
        }
        self.file = open_append(&self.path)?;
        self.entries = 2 * self.refused.len() as u64;
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// What became of a submitted sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// In the database: here is the receipt.
    Recorded(Receipt),
    /// The database could not be reached: the sale is safe in the journal and will be sent.
    Queued(Sale),
}

pub type SharedJournal = Arc<Mutex<Journal>>;

fn with_journal<T>(
    journal: &SharedJournal,
    f: impl FnOnce(&mut Journal) -> Result<T>,
) -> Result<T> {
    let mut guard = journal
        .lock()
        .map_err(|_| Error::Invalid("the journal lock was poisoned".into()))?;
    f(&mut guard)
}

/// Submits a sale through the journal: written durably first (with its sale time), then sent.
/// A connection problem leaves it queued; a business refusal takes it off the journal and
/// returns the error, for the cashier to fix the sale.
pub async fn submit_durably(
    store: &Store,
    journal: &SharedJournal,
    sale: &Sale,
) -> std::result::Result<Outcome, CheckoutError> {
    let mut sale = sale.clone();
    sale.sold_at.get_or_insert_with(Utc::now);
    let journal_error = |e: Error| CheckoutError::Refused(format!("the till's journal: {e}"));
    {
        let journal = journal.clone();
        let sale = sale.clone();
        tokio::task::spawn_blocking(move || with_journal(&journal, |j| j.record(&sale)))
            .await
            .map_err(|e| CheckoutError::Refused(e.to_string()))?
            .map_err(journal_error)?;
    }
    match submit(store, &sale).await {
        Ok(receipt) => {
            with_journal(journal, |j| j.mark_done(sale.sale_key, receipt.purchase_id))
                .map_err(journal_error)?;
            Ok(Outcome::Recorded(receipt))
        }
        Err(e) if e.is_connection_problem() => Ok(Outcome::Queued(sale)),
        Err(e) => {
            with_journal(journal, |j| j.cancel(sale.sale_key)).map_err(journal_error)?;
            Err(e)
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub refused: usize,
    pub still_pending: usize,
}

/// Sends every pending sale, oldest first, each with its original key and time. Stops at the
/// first connection problem (the rest wait for the next drain). Queued sales are recorded at the
/// database's current prices (the till's total is not re-checked: the customer has paid and the
/// sale must not be refused for a price change made while the till was offline).
pub async fn drain(store: &Store, journal: &SharedJournal) -> Result<DrainReport> {
    let pending = with_journal(journal, |j| Ok(j.pending()))?;
    let mut report = DrainReport::default();
    for mut sale in pending {
        let till_total = sale.expected_total.take();
        match submit(store, &sale).await {
            Ok(receipt) => {
                if till_total.is_some_and(|t| t != receipt.total_amount) {
                    tracing::warn!(
                        "queued sale {} recorded at {} (the till showed {:?})",
                        sale.sale_key,
                        receipt.total_amount,
                        till_total
                    );
                }
                with_journal(journal, |j| j.mark_done(sale.sale_key, receipt.purchase_id))?;
                report.sent += 1;
            }
            Err(e) if e.is_connection_problem() => break,
            Err(e) => {
                with_journal(journal, |j| j.mark_refused(sale.sale_key, e.to_string()))?;
                report.refused += 1;
            }
        }
    }
    report.still_pending = with_journal(journal, |j| Ok(j.pending_count()))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::CustomerChoice;

    fn sale() -> Sale {
        let mut s = Sale::open("SMKT001", CustomerChoice::new_customer());
        s.product_ids = vec![1, 2];
        s
    }

    #[test]
    fn a_recorded_sale_survives_reopening_until_it_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let (a, b) = (sale(), sale());
        {
            let mut j = Journal::open(&path).unwrap();
            j.record(&a).unwrap();
            j.record(&b).unwrap();
            j.mark_done(a.sale_key, 7).unwrap();
        }
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.pending(), vec![b.clone()]);
        j.mark_refused(b.sale_key, "unknown product".into())
            .unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.pending_count(), 0);
        assert_eq!(j.refused()[0].sale, b);
        assert_eq!(j.refused()[0].reason, "unknown product");
    }

    #[test]
    fn a_torn_last_line_is_dropped_but_a_bad_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let a = sale();
        {
            let mut j = Journal::open(&path).unwrap();
            j.record(&a).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"op\":\"sale\",\"sa").unwrap();
        drop(f);
        {
            let mut j = Journal::open(&path).unwrap();
            assert_eq!(j.pending(), vec![a.clone()]);
            j.record(&sale()).unwrap();
        }
        assert_eq!(Journal::open(&path).unwrap().pending_count(), 2);

        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("garbage\n{text}")).unwrap();
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains(":1: entry: unreadable journal entry"), "{err}");
    }

    #[test]
    fn a_second_till_cannot_share_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let _first = Journal::open(&path).unwrap();
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains("in use by another till"), "{err}");
    }

    #[test]
    fn the_journal_is_compacted_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let mut j = Journal::open(&path).unwrap();
        for i in 0..600 {
            let s = sale();
            j.record(&s).unwrap();
            j.mark_done(s.sale_key, i).unwrap();
        }
        assert!(fs::metadata(&path).unwrap().len() < 100_000);
        assert_eq!(j.pending_count(), 0);
    }
}
