//! The till's durable journal: every sale is appended and fsynced before it is sent, so a sale
//! the till has confirmed survives a database outage, a network blip or a crash of the till, and
//! is sent again (with its original sale key and time) until the database has it exactly once.
//!
//! The file is JSON lines. A sale is pending from its `sale` entry until a `done` entry (the
//! database has it) or a `cancelled` entry (refused while the cashier was there to fix it). A
//! queued sale that the checkout refuses on replay (a business refusal, never a transient
//! error) gets a `refused` entry with the reason: it stays in the journal, visible, and is never
//! dropped silently. A person deals with it: `resent` puts it back in the queue (after the
//! cause was fixed), `set_aside` records that it will not be sent, and why (kept in the file).
//!
//! Receipt numbers are gapless per till and given by the journal: a sale made at a till gets 1 +
//! the highest number of any sale the journal wrote for that till and did not cancel (a sale
//! refused while the cashier is there gives its number back to the next one). A
//! `receipt_numbers` entry keeps the counter across compaction and records an alignment with
//! the database ([`Journal::align_receipt_numbers`]). A sale submitted again (after a timeout)
//! keeps the number it was given. When the database already holds a sale's number at its till
//! (two tills sharing an id, a journal replaced while it held unsent numbers, another program
//! numbering the till), the journal aligns with the database and renumbers that sale (a new
//! `sale` entry with the same key), then sends it once more; a sale still colliding stays
//! queued. Numbers run from 1 to [`MAX_RECEIPT_NO`]; a stored number beyond that is ignored.
//!
//! A damaged file never stops the till: an unfinished last line (no `\n`) and any unreadable
//! line are moved, bytes intact, to a quarantine file beside the journal, the journal is
//! rewritten without them, and every other entry is kept (see [`Journal::repair`]).

mod file;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::store::Store;
use crate::domain::checkout::{
    MAX_RECEIPT_NO, Receipt, Sale, last_receipt_no, submit, submit_queued,
};
use crate::error::CheckoutError;
use crate::error::{Error, Result};

pub use file::quarantine_path;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
/// One line of the journal (JSON, tagged by `op`).
pub enum Entry {
    Sale {
        sale: Sale,
    },
    Done {
        sale_key: Uuid,
        purchase_id: i64,
    },
    Cancelled {
        sale_key: Uuid,
    },
    Refused {
        sale_key: Uuid,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<DateTime<Utc>>,
    },
    /// A refused sale put back in the queue by a person.
    Resent {
        sale_key: Uuid,
        at: DateTime<Utc>,
    },
    /// A refused sale a person decided not to send, and why.
    SetAside {
        sale_key: Uuid,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The till's receipt numbers have reached `last` (written when the journal is compacted,
    /// and when the database holds higher numbers than the journal knew).
    ReceiptNumbers {
        till: String,
        last: i64,
    },
}

impl Entry {
    /// The sale the entry is about (None for a `receipt_numbers` entry).
    pub fn sale_key(&self) -> Option<Uuid> {
        match self {
            Entry::Sale { sale } => Some(sale.sale_key),
            Entry::Done { sale_key, .. }
            | Entry::Cancelled { sale_key }
            | Entry::Refused { sale_key, .. }
            | Entry::Resent { sale_key, .. }
            | Entry::SetAside { sale_key, .. } => Some(*sale_key),
            Entry::ReceiptNumbers { .. } => None,
        }
    }

    pub fn op(&self) -> &'static str {
        match self {
            Entry::Sale { .. } => "sale",
            Entry::Done { .. } => "done",
            Entry::Cancelled { .. } => "cancelled",
            Entry::Refused { .. } => "refused",
            Entry::Resent { .. } => "resent",
            Entry::SetAside { .. } => "set_aside",
            Entry::ReceiptNumbers { .. } => "receipt_numbers",
        }
    }

    /// The entry as the journal writes it: one JSON line.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("journal entries serialise");
        line.push(b'\n');
        line
    }
}

/// A queued sale the checkout refused when it was sent: kept until a person deals with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedSale {
    pub sale: Sale,
    pub reason: String,
}

/// A refused sale a person decided not to send: no longer needs action, kept in the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetAsideSale {
    pub sale: Sale,
    /// Why the checkout refused it.
    pub refusal: String,
    /// Why it was set aside, as the person typed it.
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What opening a damaged journal did about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// Where the removed lines are now, bytes intact.
    pub quarantine: PathBuf,
    /// Unreadable lines found before the last one (line numbers, from 1).
    pub unreadable_lines: Vec<u64>,
    /// The last line had no `\n`: an entry whose write never finished.
    pub torn_tail: bool,
}

impl Repair {
    /// For the cashier and the log: what was moved, and where to.
    pub fn warning(&self) -> String {
        let mut what = Vec::new();
        match self.unreadable_lines.as_slice() {
            [] => {}
            [line] => what.push(format!("unreadable line {line}")),
            lines => {
                let numbers: Vec<String> = lines.iter().map(u64::to_string).collect();
                what.push(format!("unreadable lines {}", numbers.join(", ")));
            }
        }
        if self.torn_tail {
            what.push("an unfinished last entry (never confirmed)".into());
        }
        format!(
            "journal damaged: {} moved to {}; every other sale is kept",
            what.join(" and "),
            self.quarantine.display()
        )
    }
}

pub struct Journal {
    /// The journal's real path (symlinks resolved): the file that is locked and replaced.
    path: PathBuf,
    file: File,
    _lock: File,
    /// Sales not yet known to be in the database, in the order they were made.
    pending: BTreeMap<u64, Sale>,
    refused: Vec<RefusedSale>,
    set_aside: Vec<SetAsideSale>,
    next_seq: u64,
    entries: u64,
    repair: Option<Repair>,
    /// Per till, the highest receipt number of a sale no longer pending that was not cancelled
    /// (or of an alignment); pending, refused and set-aside sales hold their own numbers.
    receipt_floor: BTreeMap<String, i64>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and takes it for this process: a second till
    /// (or `store-core journal`) on the same journal, by whatever path, is refused. A damaged
    /// journal is repaired (see [`Journal::repair`]).
    pub fn open(path: impl Into<PathBuf>) -> Result<Journal> {
        let given = path.into();
        if let Some(dir) = given.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        // Created first, so that its real path can be known (a symlink's target included).
        drop(open_append(&given)?);
        let path = fs::canonicalize(&given)
            .map_err(|e| Error::io(format!("resolving {}", given.display()), e))?;
        let lock_path = file::lock_path(&path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            return Err(Error::File {
                path: given.display().to_string(),
                message: "this journal is in use by another till or program (give each till \
                          its own --journal; stop the till before `store-core journal`)"
                    .into(),
            });
        }
        let (entries, repair) = Journal::read_repairing(&path)?;
        let mut journal = Journal {
            file: open_append(&path)?,
            path,
            _lock: lock,
            pending: BTreeMap::new(),
            refused: Vec::new(),
            set_aside: Vec::new(),
            next_seq: 0,
            entries: 0,
            repair,
            receipt_floor: BTreeMap::new(),
        };
        if let Some(repair) = &journal.repair {
            tracing::warn!("{}: {}", journal.path.display(), repair.warning());
        }
        for entry in entries {
            journal.apply(entry);
        }
        Ok(journal)
    }

    /// Reads the journal; if it is damaged, moves the damage to the quarantine file (synced
    /// first, so a crash in between duplicates lines rather than losing them), then replaces
    /// the journal by its readable lines.
    fn read_repairing(path: &Path) -> Result<(Vec<Entry>, Option<Repair>)> {
        let mut scan = file::scan(&file::read(path)?);
        let entries = std::mem::take(&mut scan.entries)
            .into_iter()
            .map(|(_, entry)| entry)
            .collect();
        if !scan.is_damaged() {
            return Ok((entries, None));
        }
        let quarantine = quarantine_path(path);
        for bad in &scan.unreadable {
            tracing::warn!(
                "{}:{}: unreadable journal entry, moved to {}: {}",
                path.display(),
                bad.line,
                quarantine.display(),
                bad.error
            );
        }
        let mut moved: Vec<&[u8]> = scan.unreadable.iter().map(|u| &u.bytes[..]).collect();
        moved.extend(scan.torn_tail.as_deref());
        file::append_synced(&quarantine, &moved)?;
        file::write_atomically(path, &scan.kept)?;
        let repair = Repair {
            quarantine,
            unreadable_lines: scan.unreadable.iter().map(|u| u.line).collect(),
            torn_tail: scan.torn_tail.is_some(),
        };
        Ok((entries, Some(repair)))
    }

    fn apply(&mut self, entry: Entry) {
        self.entries += 1;
        let Some(key) = entry.sale_key() else {
            if let Entry::ReceiptNumbers { till, last } = entry {
                self.raise_receipt_floor(&till, last);
            }
            return;
        };
        match entry {
            Entry::Sale { sale } => {
                self.set_aside.retain(|s| s.sale.sale_key != key);
                // Written again while pending (renumbered, or submitted again): it keeps its
                // place in the queue.
                match self.pending.values_mut().find(|s| s.sale_key == key) {
                    Some(pending) => *pending = sale,
                    None => {
                        self.refused.retain(|r| r.sale.sale_key != key);
                        self.queue(sale);
                    }
                }
            }
            Entry::Done { .. } => {
                if let Some((till, number)) = self.receipt_of(key) {
                    self.raise_receipt_floor(&till, number);
                }
                self.forget(key);
            }
            Entry::Cancelled { .. } => self.forget(key),
            Entry::Refused { reason, .. } => {
                if let Some(sale) = self.take_pending(key) {
                    self.refused.push(RefusedSale { sale, reason });
                }
            }
            Entry::Resent { .. } => {
                if let Some(refused) = self.take_refused(key) {
                    self.queue(refused.sale);
                }
            }
            Entry::SetAside { reason, at, .. } => {
                if let Some(refused) = self.take_refused(key) {
                    self.set_aside.push(SetAsideSale {
                        sale: refused.sale,
                        refusal: refused.reason,
                        reason,
                        at,
                    });
                }
            }
            Entry::ReceiptNumbers { .. } => {}
        }
    }

    fn raise_receipt_floor(&mut self, till: &str, number: i64) {
        if number > MAX_RECEIPT_NO {
            tracing::warn!(
                till,
                number,
                "ignoring a receipt number beyond {MAX_RECEIPT_NO} in the journal"
            );
            return;
        }
        let floor = self.receipt_floor.entry(till.to_string()).or_default();
        *floor = (*floor).max(number);
    }

    /// The till and receipt number of a sale the journal holds (pending or refused).
    fn receipt_of(&self, sale_key: Uuid) -> Option<(String, i64)> {
        let sale = self
            .pending
            .values()
            .chain(self.refused.iter().map(|r| &r.sale))
            .find(|s| s.sale_key == sale_key)?;
        Some((sale.till.clone()?, sale.receipt_no?))
    }

    /// The highest receipt number given at `till` and not given back (0: none yet).
    pub fn last_receipt_no(&self, till: &str) -> i64 {
        let held = self
            .pending
            .values()
            .chain(self.refused.iter().map(|r| &r.sale))
            .chain(self.set_aside.iter().map(|s| &s.sale))
            .filter(|s| s.till.as_deref() == Some(till))
            .filter_map(|s| s.receipt_no)
            // No database holds such a number (a damaged or hand-edited journal): ignored, so
            // that it cannot stop the till numbering its sales.
            .filter(|n| *n <= MAX_RECEIPT_NO);
        held.chain(self.receipt_floor.get(till).copied())
            .max()
            .unwrap_or(0)
    }

    /// Raises the receipt counter of `till` to the database's highest number for it (from
    /// [`crate::domain::checkout::last_receipt_no`]), for a journal that is new on an existing
    /// till; never lowers it. Written durably when it changes anything. A number beyond
    /// [`MAX_RECEIPT_NO`] is refused (no database holds one).
    pub fn align_receipt_numbers(&mut self, till: &str, last_in_database: i64) -> Result<()> {
        if last_in_database > MAX_RECEIPT_NO {
            return Err(Error::Invalid(format!(
                "till {till}: the database's last receipt number {last_in_database} is beyond \
                 the highest a till gives ({MAX_RECEIPT_NO}); receipt numbers not aligned"
            )));
        }
        if last_in_database <= self.last_receipt_no(till) {
            return Ok(());
        }
        self.append(
            Entry::ReceiptNumbers {
                till: till.to_string(),
                last: last_in_database,
            },
            true,
        )
    }

    /// The number the next sale at `till` gets; an error once every number is used.
    fn next_receipt_no(&self, till: &str) -> Result<i64> {
        let last = self.last_receipt_no(till);
        last.checked_add(1)
            .filter(|n| *n <= MAX_RECEIPT_NO)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "till {till} has given receipt number {last}, the highest there is \
                     ({MAX_RECEIPT_NO}): give this till a new id (--till)"
                ))
            })
    }

    /// Makes `sale` durable like [`Journal::record`], first giving a sale made at a till (and
    /// not numbered yet) a receipt number: the one it holds already if this sale key is in the
    /// journal still (submitted again after a timeout, or after a cancel that was not written),
    /// else the till's next. Returns the sale as written.
    pub fn record_numbered(&mut self, sale: &Sale) -> Result<Sale> {
        let mut sale = sale.clone();
        if let (Some(till), None) = (&sale.till, sale.receipt_no) {
            let held = self
                .receipt_of(sale.sale_key)
                .filter(|(held_at, _)| held_at == till)
                .map(|(_, number)| number);
            sale.receipt_no = Some(match held {
                Some(number) => number,
                None => self.next_receipt_no(till)?,
            });
        }
        self.record(&sale)?;
        Ok(sale)
    }

    /// A pending sale whose receipt number the database holds for another sale: aligns the
    /// till's numbers with the database's last one, then gives the sale the next number (a new
    /// `sale` entry, same key, written durably). Returns the sale as now written; None when the
    /// sale is not pending or was made at no till.
    pub fn renumber(&mut self, sale_key: Uuid, last_in_database: i64) -> Result<Option<Sale>> {
        let Some(mut sale) = self
            .pending
            .values()
            .find(|s| s.sale_key == sale_key)
            .cloned()
        else {
            return Ok(None);
        };
        let Some(till) = sale.till.clone() else {
            return Ok(None);
        };
        self.align_receipt_numbers(&till, last_in_database)?;
        let taken = sale.receipt_no;
        sale.receipt_no = Some(self.next_receipt_no(&till)?);
        tracing::warn!(
            %sale_key,
            till,
            taken = ?taken,
            number = ?sale.receipt_no,
            "receipt number already held by another sale in the database: sale renumbered"
        );
        self.record(&sale)?;
        Ok(Some(sale))
    }

    fn queue(&mut self, sale: Sale) {
        self.pending.insert(self.next_seq, sale);
        self.next_seq += 1;
    }

    fn forget(&mut self, sale_key: Uuid) {
        self.pending.retain(|_, s| s.sale_key != sale_key);
        self.refused.retain(|r| r.sale.sale_key != sale_key);
    }

    fn take_pending(&mut self, sale_key: Uuid) -> Option<Sale> {
        let seq = self
            .pending
            .iter()
            .find(|(_, s)| s.sale_key == sale_key)
            .map(|(k, _)| *k)?;
        self.pending.remove(&seq)
    }

    fn take_refused(&mut self, sale_key: Uuid) -> Option<RefusedSale> {
        let index = self
            .refused
            .iter()
            .position(|r| r.sale.sale_key == sale_key)?;
        Some(self.refused.remove(index))
    }

    fn append(&mut self, entry: Entry, durable: bool) -> Result<()> {
        self.file
            .write_all(&entry.line())
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

    /// A queued sale the checkout refused on replay: kept, with the reason, until a person
    /// deals with it.
    pub fn mark_refused(&mut self, sale_key: Uuid, reason: String) -> Result<()> {
        let at = Some(Utc::now());
        self.append(
            Entry::Refused {
                sale_key,
                reason,
                at,
            },
            true,
        )
    }

    /// Puts a refused sale back in the queue, with its original key and time (after what was
    /// refused was fixed, e.g. a product added back); the next drain sends it.
    pub fn resend(&mut self, sale_key: Uuid) -> Result<()> {
        self.check_refused(sale_key)?;
        let at = Utc::now();
        self.append(Entry::Resent { sale_key, at }, true)
    }

    /// Records that a refused sale will not be sent, and why: it stays in the journal (and in
    /// exports) but no longer needs action.
    pub fn set_aside(&mut self, sale_key: Uuid, reason: &str) -> Result<()> {
        self.check_refused(sale_key)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Invalid(format!(
                "setting sale {sale_key} aside: say why (the reason is empty)"
            )));
        }
        let at = Utc::now();
        self.append(
            Entry::SetAside {
                sale_key,
                reason: reason.to_string(),
                at,
            },
            true,
        )
    }

    fn check_refused(&self, sale_key: Uuid) -> Result<()> {
        if self.refused.iter().any(|r| r.sale.sale_key == sale_key) {
            Ok(())
        } else {
            Err(Error::File {
                path: self.path.display().to_string(),
                message: format!("sale {sale_key} is not among the refused sales"),
            })
        }
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

    pub fn set_aside_sales(&self) -> &[SetAsideSale] {
        &self.set_aside
    }

    /// The journal's real path (symlinks resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What opening this journal repaired, if it was damaged.
    pub fn repair(&self) -> Option<&Repair> {
        self.repair.as_ref()
    }

    /// When nothing is pending, rewrites the file with only what must be kept (refused and
    /// set-aside sales), so that it does not grow for ever.
    fn compact_if_idle(&mut self) -> Result<()> {
        if !self.pending.is_empty() || self.entries < 1000 {
            return Ok(());
        }
        let mut kept: Vec<Entry> = self
            .receipt_floor
            .iter()
            .map(|(till, last)| Entry::ReceiptNumbers {
                till: till.clone(),
                last: *last,
            })
            .collect();
        for r in &self.refused {
            kept.push(Entry::Sale {
                sale: r.sale.clone(),
            });
            kept.push(Entry::Refused {
                sale_key: r.sale.sale_key,
                reason: r.reason.clone(),
                at: None,
            });
        }
        for s in &self.set_aside {
            kept.push(Entry::Sale {
                sale: s.sale.clone(),
            });
            kept.push(Entry::Refused {
                sale_key: s.sale.sale_key,
                reason: s.refusal.clone(),
                at: None,
            });
            kept.push(Entry::SetAside {
                sale_key: s.sale.sale_key,
                reason: s.reason.clone(),
                at: s.at,
            });
        }
        let bytes: Vec<u8> = kept.iter().flat_map(Entry::line).collect();
        file::write_atomically(&self.path, &bytes)?;
        self.file = open_append(&self.path)?;
        self.entries = kept.len() as u64;
        Ok(())
    }

    /// Every entry in the file, in order, with its line number.
    pub fn read_entries(&self) -> Result<Vec<(u64, Entry)>> {
        let scan = file::scan(&file::read(&self.path)?);
        match scan.unreadable.first() {
            Some(bad) => Err(Error::AtLine {
                path: self.path.display().to_string(),
                line: bad.line,
                field: "entry".into(),
                message: format!("unreadable journal entry: {}", bad.error),
            }),
            None => Ok(scan.entries),
        }
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
    /// Not recorded yet for a reason that passes (the database unreachable, a timeout, a
    /// read-only standby...): the sale is safe in the journal and will be sent.
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

/// Submits a sale through the journal: written durably first (with its sale time and, for a
/// sale made at a till, the till's next receipt number), then sent. A receipt number the
/// database holds already is replaced by the next free one and the sale sent again (once); the
/// outcome carries the sale or receipt with the number it was given.
/// A business refusal ([`CheckoutError::is_business_refusal`]) takes it off the journal and
/// returns the error, for the cashier to fix the sale; any other failure leaves it queued. A
/// sale the journal cannot take is not sent ([`CheckoutError::Journal`]).
pub async fn submit_durably(
    store: &Store,
    journal: &SharedJournal,
    sale: &Sale,
) -> std::result::Result<Outcome, CheckoutError> {
    let mut sale = sale.clone();
    sale.sold_at.get_or_insert_with(Utc::now);
    let sale = {
        let journal = journal.clone();
        tokio::task::spawn_blocking(move || record_first(&journal, &sale))
            .await
            .map_err(|e| CheckoutError::Journal(e.to_string()))??
    };
    let (sale, result) = match submit(store, &sale).await {
        Err(CheckoutError::ReceiptNumberTaken(reason)) => {
            renumber_and_send(store, journal, sale, reason, Sending::Live).await
        }
        result => (sale, result),
    };
    settle(journal, &sale, result)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    Live,
    Queued,
}

/// After the database said `sale`'s receipt number is another sale's: reads the till's last
/// number from the database, renumbers the sale in the journal ([`Journal::renumber`]) and
/// sends it once more. Returns the sale as the journal holds it now and what the second send
/// answered; if the sale could not be renumbered (the database or the journal failing), the
/// sale unchanged and the collision, which leaves it queued.
async fn renumber_and_send(
    store: &Store,
    journal: &SharedJournal,
    sale: Sale,
    collision: String,
    sending: Sending,
) -> (Sale, std::result::Result<Receipt, CheckoutError>) {
    let taken = Err(CheckoutError::ReceiptNumberTaken(collision));
    let Some(till) = sale.till.clone() else {
        return (sale, taken);
    };
    let last = match store.client().await {
        Ok(client) => last_receipt_no(&client, &till).await,
        Err(e) => Err(e),
    };
    let last = match last {
        Ok(last) => last,
        Err(e) => {
            tracing::warn!(sale_key = %sale.sale_key, "receipt number taken; the database's last number could not be read ({e}): the sale stays queued");
            return (sale, taken);
        }
    };
    let renumbered = {
        let journal = journal.clone();
        let key = sale.sale_key;
        tokio::task::spawn_blocking(move || with_journal(&journal, |j| j.renumber(key, last)))
            .await
            .map_err(|e| Error::Invalid(e.to_string()))
            .and_then(|r| r)
    };
    let renumbered = match renumbered {
        Ok(Some(renumbered)) => renumbered,
        Ok(None) => return (sale, taken),
        Err(e) => {
            tracing::warn!(sale_key = %sale.sale_key, "receipt number taken; the sale could not be renumbered ({e}): it stays queued");
            return (sale, taken);
        }
    };
    let result = match sending {
        Sending::Live => submit(store, &renumbered).await,
        Sending::Queued => {
            let mut sent = renumbered.clone();
            sent.expected_total = None;
            submit_queued(store, &sent).await
        }
    };
    (renumbered, result)
}

/// Writes the sale durably (numbered, if made at a till) before it is sent; if that fails it
/// must not be sent. Returns the sale as written.
fn record_first(journal: &SharedJournal, sale: &Sale) -> std::result::Result<Sale, CheckoutError> {
    with_journal(journal, |j| j.record_numbered(sale))
        .map_err(|e| CheckoutError::Journal(e.to_string()))
}

/// What the database answered, once the journal is told. A journal write that fails now does
/// not change the answer: the sale stays pending in the journal, so a later drain sends it
/// again, which is an idempotent replay of a recorded sale or a refusal kept for a person.
fn settle(
    journal: &SharedJournal,
    sale: &Sale,
    result: std::result::Result<Receipt, CheckoutError>,
) -> std::result::Result<Outcome, CheckoutError> {
    match result {
        Ok(receipt) => {
            if let Err(e) =
                with_journal(journal, |j| j.mark_done(sale.sale_key, receipt.purchase_id))
            {
                tracing::warn!(
                    sale_key = %sale.sale_key,
                    purchase_id = receipt.purchase_id,
                    "sale recorded, but the journal could not note it ({e}): it stays pending \
                     and its resend will be a replay of this purchase"
                );
            }
            Ok(Outcome::Recorded(receipt))
        }
        Err(e) if e.is_business_refusal() => {
            if let Err(journal_error) = with_journal(journal, |j| j.cancel(sale.sale_key)) {
                tracing::warn!(
                    sale_key = %sale.sale_key,
                    "sale refused ({e}), but the journal could not note it ({journal_error}): \
                     it stays pending and will be marked refused when it is sent again"
                );
            }
            Err(e)
        }
        Err(e) => {
            tracing::warn!(sale_key = %sale.sale_key, "sale queued, not recorded yet: {e}");
            Ok(Outcome::Queued(sale.clone()))
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub refused: usize,
    pub still_pending: usize,
    /// Why the round stopped before the end, if it did: a failure that is not a business
    /// refusal (the database unreachable, a timeout, a read-only standby...). The sales not
    /// sent stay queued; the caller tries again later.
    pub stopped: Option<CheckoutError>,
}

/// Sends every pending sale, oldest first, each with its original key and time. Only a
/// business refusal marks a sale refused; at any other failure the round stops and the rest
/// waits for the next one. Queued sales are recorded at the database's current prices (the
/// till's total is not re-checked: the customer has paid and the sale must not be refused for a
/// price change made while the till was offline, nor for a product retired since: see
/// [`crate::domain::checkout::record_queued_purchase`]). A receipt number the database holds
/// already is renumbered and sent again once ([`Journal::renumber`]); still colliding, the
/// round stops with the sale queued.
pub async fn drain(store: &Store, journal: &SharedJournal) -> Result<DrainReport> {
    let pending = with_journal(journal, |j| Ok(j.pending()))?;
    let mut report = DrainReport::default();
    for sale in pending {
        let till_total = sale.expected_total;
        let mut sent = sale.clone();
        sent.expected_total = None;
        let (sale, result) = match submit_queued(store, &sent).await {
            Err(CheckoutError::ReceiptNumberTaken(reason)) => {
                renumber_and_send(store, journal, sale, reason, Sending::Queued).await
            }
            result => (sale, result),
        };
        match result {
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
            Err(e) if e.is_business_refusal() => {
                with_journal(journal, |j| j.mark_refused(sale.sale_key, e.to_string()))?;
                report.refused += 1;
            }
            Err(e) => {
                tracing::info!(sale_key = %sale.sale_key, "queued sale not sent yet: {e}");
                report.stopped = Some(e);
                break;
            }
        }
    }
    report.still_pending = with_journal(journal, |j| Ok(j.pending_count()))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checkout::CustomerChoice;

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
    fn a_torn_last_line_is_quarantined_and_the_next_entry_lands_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let a = sale();
        {
            let mut j = Journal::open(&path).unwrap();
            j.record(&a).unwrap();
        }
        let torn = b"{\"op\":\"sale\",\"sa";
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(torn).unwrap();
        drop(f);
        let b = sale();
        {
            let mut j = Journal::open(&path).unwrap();
            assert_eq!(j.pending(), vec![a.clone()]);
            assert!(j.repair().unwrap().torn_tail);
            j.record(&b).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.pending(), vec![a, b]);
        assert_eq!(j.repair(), None);
        let mut quarantined = torn.to_vec();
        quarantined.push(b'\n');
        assert_eq!(fs::read(quarantine_path(j.path())).unwrap(), quarantined);
    }

    #[test]
    fn a_second_till_cannot_share_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let _first = Journal::open(&path).unwrap();
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains("in use by another till"), "{err}");
    }

    /// Every later write to `journal`'s file fails, as on a full disk (`/dev/full` refuses
    /// writes whoever the process runs as, root included).
    fn fill_the_disk(journal: &SharedJournal) {
        let full = OpenOptions::new().append(true).open("/dev/full").unwrap();
        journal.lock().unwrap().file = full;
    }

    fn shared(path: &Path) -> SharedJournal {
        Arc::new(Mutex::new(Journal::open(path).unwrap()))
    }

    fn receipt(sale: &Sale) -> Receipt {
        Receipt {
            purchase_id: 42,
            sale_key: sale.sale_key,
            supermarket_id: sale.supermarket_id.clone(),
            user_id: sale.customer.user_id(),
            new_customer: true,
            created_at: Utc::now(),
            lines: Vec::new(),
            total_amount: Default::default(),
            replayed: false,
            till: sale.till.clone(),
            cashier: sale.cashier,
            receipt_no: sale.receipt_no,
            payment_method: None,
            tendered: None,
            change_due: None,
        }
    }

    #[tokio::test]
    async fn a_sale_the_journal_cannot_take_is_not_sent_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let journal = shared(&dir.path().join("till.journal"));
        fill_the_disk(&journal);
        // Nothing listens there: a sale that reached the store would be queued, not refused.
        let config: tokio_postgres::Config = "host=127.0.0.1 port=1 user=nobody".parse().unwrap();
        let store = Store::from_config(config, "nowhere".into(), 1).unwrap();
        let err = submit_durably(&store, &journal, &sale()).await.unwrap_err();
        assert!(matches!(err, CheckoutError::Journal(_)), "{err:?}");
        assert!(!err.is_business_refusal() && !err.is_connection_problem());
        let text = err.to_string();
        assert!(
            text.starts_with("the till's journal could not be written: writing ")
                && text.contains("No space left on device")
                && text.ends_with("; the sale was not sent"),
            "{text}"
        );
        assert_eq!(journal.lock().unwrap().pending_count(), 0);
    }

    #[test]
    fn a_recorded_sale_the_journal_cannot_mark_done_is_still_recorded_and_stays_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let journal = shared(&path);
        let s = sale();
        record_first(&journal, &s).unwrap();
        fill_the_disk(&journal);
        let receipt = receipt(&s);
        assert_eq!(
            settle(&journal, &s, Ok(receipt.clone())),
            Ok(Outcome::Recorded(receipt))
        );
        // Sent again later, as an idempotent replay: in this run and after a restart.
        assert_eq!(journal.lock().unwrap().pending(), vec![s.clone()]);
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().pending(), vec![s]);
    }

    #[test]
    fn a_refused_sale_the_journal_cannot_cancel_is_reported_as_refused() {
        let dir = tempfile::tempdir().unwrap();
        let journal = shared(&dir.path().join("till.journal"));
        let s = sale();
        record_first(&journal, &s).unwrap();
        fill_the_disk(&journal);
        let refusal = CheckoutError::UnknownProduct("2".into());
        assert_eq!(settle(&journal, &s, Err(refusal.clone())), Err(refusal));
        // Still owed to the database as far as the journal knows: sent again, refused again,
        // and then kept as refused for a person.
        assert_eq!(journal.lock().unwrap().pending(), vec![s]);
    }

    fn till_sale() -> Sale {
        sale().at_till("T01", None)
    }

    #[test]
    fn receipt_numbers_survive_compaction_and_reopening_and_cancelled_ones_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let mut j = Journal::open(&path).unwrap();
        for i in 0..600 {
            let s = j.record_numbered(&till_sale()).unwrap();
            assert_eq!(s.receipt_no, Some(i + 1));
            j.mark_done(s.sale_key, i).unwrap();
        }
        // Compacted: far fewer lines than the 1200 written.
        assert!(j.read_entries().unwrap().len() < 300);
        assert_eq!(j.last_receipt_no("T01"), 600);
        let cancelled = j.record_numbered(&till_sale()).unwrap();
        assert_eq!(cancelled.receipt_no, Some(601));
        j.cancel(cancelled.sale_key).unwrap();
        assert_eq!(j.last_receipt_no("T01"), 600);
        let queued = j.record_numbered(&till_sale()).unwrap();
        assert_eq!(queued.receipt_no, Some(601));
        // Another till counts on its own; a sale from no till has no number.
        assert_eq!(
            j.record_numbered(&sale().at_till("T02", None))
                .unwrap()
                .receipt_no,
            Some(1)
        );
        assert_eq!(j.record_numbered(&sale()).unwrap().receipt_no, None);
        drop(j);
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.last_receipt_no("T01"), 601);
        assert_eq!(
            j.record_numbered(&till_sale()).unwrap().receipt_no,
            Some(602)
        );
        // A refused queued sale keeps its number (the customer has the receipt).
        j.mark_refused(queued.sale_key, "no longer sold".into())
            .unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.last_receipt_no("T01"), 602);
        assert_eq!(j.refused()[0].sale.receipt_no, Some(601));
    }

    #[test]
    fn a_sale_submitted_again_keeps_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let mut j = Journal::open(&path).unwrap();
        let first = till_sale();
        assert_eq!(j.record_numbered(&first).unwrap().receipt_no, Some(1));
        // Submitted again after a timeout (the caller's copy has no number): still 1.
        assert_eq!(j.record_numbered(&first).unwrap().receipt_no, Some(1));
        let second = j.record_numbered(&till_sale()).unwrap();
        assert_eq!(second.receipt_no, Some(2));
        // Refused while queued, then submitted again: its number, not a new one.
        j.mark_refused(first.sale_key, "no longer sold".into())
            .unwrap();
        assert_eq!(j.record_numbered(&first).unwrap().receipt_no, Some(1));
        assert_eq!(j.pending_count(), 2);
        drop(j);
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.record_numbered(&first).unwrap().receipt_no, Some(1));
        assert_eq!(j.record_numbered(&till_sale()).unwrap().receipt_no, Some(3));
    }

    #[test]
    fn a_renumbered_sale_keeps_its_place_and_its_new_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let mut j = Journal::open(&path).unwrap();
        let mut first = till_sale();
        first.expected_total = Some(rust_decimal::Decimal::new(120, 2));
        let first = j.record_numbered(&first).unwrap();
        let second = j.record_numbered(&till_sale()).unwrap();
        // The database holds numbers up to 5 for this till: the first sale becomes 6.
        let renumbered = j.renumber(first.sale_key, 5).unwrap().unwrap();
        assert_eq!(renumbered.receipt_no, Some(6));
        assert_eq!(renumbered.expected_total, first.expected_total);
        let order = |j: &Journal| {
            j.pending()
                .iter()
                .map(|s| (s.sale_key, s.receipt_no))
                .collect::<Vec<_>>()
        };
        let expected = vec![(first.sale_key, Some(6)), (second.sale_key, Some(2))];
        assert_eq!(order(&j), expected);
        // Cancelled later, 6 is given back but never 1 to 5 (the database has them).
        j.cancel(first.sale_key).unwrap();
        drop(j);
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(order(&j), vec![(second.sale_key, Some(2))]);
        assert_eq!(j.record_numbered(&till_sale()).unwrap().receipt_no, Some(6));
        // Only pending sales made at a till are renumbered.
        assert_eq!(j.renumber(first.sale_key, 9).unwrap(), None);
        let plain = sale();
        j.record(&plain).unwrap();
        assert_eq!(j.renumber(plain.sale_key, 9).unwrap(), None);
    }

    #[test]
    fn receipt_numbers_stop_at_the_bound_with_a_clear_error_and_never_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        // Numbers no database holds (a damaged or hand-edited journal) are ignored.
        let mut hostile = till_sale();
        hostile.receipt_no = Some(i64::MAX);
        let lines = [
            Entry::ReceiptNumbers {
                till: "T01".into(),
                last: i64::MAX,
            },
            Entry::Sale { sale: hostile },
        ];
        fs::write(
            &path,
            lines.iter().flat_map(Entry::line).collect::<Vec<u8>>(),
        )
        .unwrap();
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.last_receipt_no("T01"), 0);
        assert_eq!(j.record_numbered(&till_sale()).unwrap().receipt_no, Some(1));

        let err = j
            .align_receipt_numbers("T01", MAX_RECEIPT_NO + 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("beyond the highest a till gives (999999999999)"),
            "{err}"
        );
        assert_eq!(j.last_receipt_no("T01"), 1);

        j.align_receipt_numbers("T01", MAX_RECEIPT_NO - 1).unwrap();
        let last = j.record_numbered(&till_sale()).unwrap();
        assert_eq!(last.receipt_no, Some(MAX_RECEIPT_NO));
        let before = j.pending_count();
        let err = j.record_numbered(&till_sale()).unwrap_err().to_string();
        assert!(
            err.contains("has given receipt number 999999999999, the highest there is"),
            "{err}"
        );
        // Not written; the journal still works.
        assert_eq!(j.pending_count(), before);
        j.mark_done(last.sale_key, 1).unwrap();
        assert_eq!(j.renumber(last.sale_key, 0).unwrap(), None);
    }

    #[test]
    fn a_journal_line_written_before_receipt_numbers_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.journal");
        let line = concat!(
            r#"{"op":"sale","sale":{"sale_key":"0195e0b8-0000-7000-8000-000000000001","#,
            r#""supermarket_id":"SMKT001","customer":{"kind":"new","user_id":"#,
            r#""0c000000-0000-4000-8000-000000000001"},"product_ids":[1],"#,
            r#""expected_total":"1.20","sold_at":"2026-11-30T10:00:00Z"}}"#,
            "\n"
        );
        fs::write(&path, line).unwrap();
        let j = Journal::open(&path).unwrap();
        let pending = j.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (
                pending[0].till.as_deref(),
                pending[0].cashier,
                pending[0].receipt_no
            ),
            (None, None, None)
        );
        assert_eq!(j.repair(), None);
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
