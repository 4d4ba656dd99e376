//! Runs `Effect`s against store-core as tokio tasks, each bounded in time; every result, timeout
//! and panic of a task comes back to the loop as a `Msg` (through `tui_runtime`). Nothing here
//! is awaited by the input or render path.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use store_core::Store;
use store_core::db::live::{self, CATALOG_CHANNEL, LISTENING};
use store_core::domain::cashier::{self, CashierCredential};
use store_core::domain::catalog;
use store_core::domain::checkout::{self, Sale};
use store_core::domain::{refund, shift};
use store_core::error::CheckoutError;
use store_core::retry::RetryPolicy;
use store_core::settings::ReceiptPrinter;
use store_core::till::journal::{self, Outcome, SharedJournal};
use tokio::sync::mpsc::{self, UnboundedSender};
use tui_runtime::effect::run_bounded;
use tui_runtime::{Failure, Lease, spawn_effect};

use crate::app::{
    DbFailure, Effect, JournalStatus, KeptCatalog, Msg, RefusedAction, SEARCH_DEBOUNCE_MS,
    SEARCH_LIMIT,
};

/// Longest wait for a sale to be written; past it the sale is queued if the journal has it,
/// else the outcome is unknown and the cashier retries with the same sale key.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(20);
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// The same while the health probe finds the database unreachable: the sale is in the journal
/// already, so the cashier need not wait to learn that it is queued.
const OFFLINE_SUBMIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest round of sending queued sales; what is not sent by then waits for the next round.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest PIN check (argon2 is slow on purpose, but not this slow).
const PIN_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a receipt printer may take to take a receipt; a command still running then is killed.
pub const PRINT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the health probe asks, and how long it waits for an answer: together they bound
/// how long the status bar can say "connected" after the database went away.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The catalog listener's first pause after losing its connection, and its longest: a till
/// must learn of price changes soon after the database is back.
/// The catalog listener's pauses before reconnecting: 250 ms, doubling to at most 2 s.
const LISTENER_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(250), Duration::from_secs(2));

#[derive(Clone)]
pub struct Runner {
    store: Store,
    journal: SharedJournal,
    tx: UnboundedSender<Msg>,
    /// This till's id, for the database's last receipt number.
    till: String,
    /// Where the roster is kept (`roster_path`).
    roster_path: PathBuf,
    /// Where the catalog is kept (`catalog_path`).
    catalog_path: PathBuf,
    /// The health probe's last answer: a submission made while the database is known to be
    /// unreachable waits only `OFFLINE_SUBMIT_TIMEOUT` before the sale is queued.
    reachable: Arc<AtomicBool>,
    /// Where receipts are printed (None: nowhere).
    printer: Option<ReceiptPrinter>,
}

/// What the journal holds now.
pub fn journal_status(journal: &SharedJournal) -> JournalStatus {
    // A poisoned lock only means another task panicked while holding it; the journal's state
    // in memory is still what its file says.
    let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
    JournalStatus {
        pending: journal.pending_count(),
        refused: journal.refused().to_vec(),
        warning: journal.repair().map(|r| r.warning()),
    }
}

/// After a submission gave no answer (a timeout, a panic): if the journal holds the sale, it is
/// queued and will be sent; otherwise it was never saved and the cashier retries it.
fn queued_or_unknown(
    journal: &SharedJournal,
    sale: &Sale,
    reason: String,
) -> Result<Outcome, CheckoutError> {
    let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
    match journal
        .pending()
        .into_iter()
        .find(|s| s.sale_key == sale.sale_key)
    {
        Some(saved) => Ok(Outcome::Queued(saved)),
        None => Err(CheckoutError::Unavailable(reason)),
    }
}

impl From<Failure> for DbFailure {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::TimedOut(_) => DbFailure {
                message: format!("the database gave {failure}"),
                connection: true,
            },
            Failure::Panicked(_) => DbFailure {
                message: failure.to_string(),
                connection: false,
            },
        }
    }
}

impl Runner {
    pub fn new(
        store: Store,
        journal: SharedJournal,
        tx: UnboundedSender<Msg>,
        till: String,
        roster_path: PathBuf,
        catalog_path: PathBuf,
    ) -> Runner {
        Runner {
            store,
            journal,
            tx,
            till,
            roster_path,
            catalog_path,
            reachable: Arc::new(AtomicBool::new(true)),
            printer: None,
        }
    }

    /// The same runner, printing receipts on `printer`.
    pub fn with_printer(self, printer: Option<ReceiptPrinter>) -> Runner {
        Runner { printer, ..self }
    }

    pub fn run(&self, effect: Effect) {
        let store = self.store.clone();
        match effect {
            Effect::LoadCatalog => {
                // The roster and the till's last receipt number come with the catalog, on the
                // same connection, and are handed over just before it.
                let tx = self.tx.clone();
                let till = self.till.clone();
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    async move {
                        let client = Lease::new(store.client().await?, &store);
                        let catalog = catalog::load_catalog(&*client).await?;
                        let roster = cashier::load_roster(&*client).await?;
                        let last_receipt_no = checkout::last_receipt_no(&*client, &till).await?;
                        client.release();
                        Ok((catalog, roster, last_receipt_no))
                    },
                    move |outcome| {
                        Msg::CatalogLoaded(flatten(outcome).map(
                            |(catalog, roster, last_receipt_no)| {
                                // The receiver is gone only when the program is ending.
                                let _ = tx.send(Msg::RosterLoaded {
                                    roster,
                                    last_receipt_no,
                                });
                                catalog
                            },
                        ))
                    },
                );
            }
            Effect::SaveRoster(roster) => {
                let path = self.roster_path.clone();
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    blocking(move || write_roster(&path, &roster).map_err(|e| e.to_string())),
                    |outcome| Msg::RosterSaved(outcome.unwrap_or_else(|f| Err(f.to_string()))),
                );
            }
            Effect::SaveCatalog(catalog) => {
                let path = self.catalog_path.clone();
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    blocking(move || {
                        let kept = KeptCatalog {
                            kept_at: chrono::Utc::now(),
                            catalog: *catalog,
                        };
                        write_catalog(&path, &kept).map_err(|e| e.to_string())
                    }),
                    |outcome| Msg::CatalogSaved(outcome.unwrap_or_else(|f| Err(f.to_string()))),
                );
            }
            Effect::AlignReceiptNumbers { last_in_database } => {
                let journal = self.journal.clone();
                let till = self.till.clone();
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    blocking(move || {
                        let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
                        journal
                            .align_receipt_numbers(&till, last_in_database)
                            .map_err(|e| e.to_string())
                    }),
                    |outcome| {
                        Msg::ReceiptNumbersAligned(outcome.unwrap_or_else(|f| Err(f.to_string())))
                    },
                );
            }
            Effect::CheckPin {
                attempt,
                credential,
                pin,
            } => {
                spawn_effect(
                    &self.tx,
                    PIN_CHECK_TIMEOUT,
                    blocking(move || Ok(credential.verify_pin(pin.expose()))),
                    move |outcome| Msg::PinChecked {
                        attempt,
                        result: outcome.unwrap_or_else(|f| Err(f.to_string())),
                    },
                );
            }
            Effect::DebounceCustomerSearch { seq } => {
                spawn_effect(
                    &self.tx,
                    Duration::from_millis(SEARCH_DEBOUNCE_MS) + QUERY_TIMEOUT,
                    tokio::time::sleep(Duration::from_millis(SEARCH_DEBOUNCE_MS)),
                    move |_| Msg::CustomerSearchDue { seq },
                );
            }
            Effect::SearchCustomers { seq, prefix } => {
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    async move {
                        let client = Lease::new(store.client().await?, &store);
                        let found =
                            catalog::search_customers(&*client, &prefix, SEARCH_LIMIT).await?;
                        client.release();
                        Ok(found)
                    },
                    move |outcome| Msg::CustomerResults {
                        seq,
                        result: flatten(outcome),
                    },
                );
            }
            Effect::Submit(sale) => {
                let sale_key = sale.sale_key;
                let journal = self.journal.clone();
                let tx = self.tx.clone();
                let limit = if self.reachable.load(Ordering::Relaxed) {
                    SUBMIT_TIMEOUT
                } else {
                    OFFLINE_SUBMIT_TIMEOUT
                };
                tokio::spawn(async move {
                    tracing::info!(%sale_key, products = ?sale.product_ids, expected = ?sale.expected_total, "submitting");
                    let work = {
                        let journal = journal.clone();
                        let sale = sale.clone();
                        async move { journal::submit_durably(&store, &journal, &sale).await }
                    };
                    // With no answer (a timeout, a panic) the sale is queued if the journal has
                    // it; else unknown, and the same key makes the retry safe.
                    let result = match run_bounded(limit, work).await {
                        Ok(result) => result,
                        Err(failure) => queued_or_unknown(&journal, &sale, failure.to_string()),
                    };
                    // The receiver is gone only when the program is ending.
                    let _ = tx.send(Msg::Submitted { sale_key, result });
                    let _ = tx.send(Msg::Journal(journal_status(&journal)));
                });
            }
            Effect::Drain => {
                let journal = self.journal.clone();
                let journal_for_status = self.journal.clone();
                spawn_effect(
                    &self.tx,
                    DRAIN_TIMEOUT,
                    async move { journal::drain(&store, &journal).await },
                    move |outcome| Msg::Drained {
                        result: match outcome {
                            Err(Failure::TimedOut(_)) => Err(DbFailure {
                                message: format!(
                                    "sending queued sales: no answer within {} s",
                                    DRAIN_TIMEOUT.as_secs()
                                ),
                                connection: true,
                            }),
                            outcome => flatten(outcome),
                        },
                        status: journal_status(&journal_for_status),
                    },
                );
            }
            Effect::LookUpCard(id) => {
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    async move {
                        let client = Lease::new(store.client().await?, &store);
                        // A whole id is its own prefix: at most one customer.
                        let found = catalog::search_customers(&*client, &id.to_string(), 1).await?;
                        client.release();
                        Ok(found.into_iter().find(|c| c.user_id == id))
                    },
                    move |outcome| Msg::CardLookedUp {
                        id,
                        result: flatten(outcome),
                    },
                );
            }
            Effect::Print { job, text } => {
                let Some(printer) = self.printer.clone() else {
                    let _ = self.tx.send(Msg::Printed {
                        job,
                        result: Err("no receipt printer is set".into()),
                    });
                    return;
                };
                spawn_effect(
                    &self.tx,
                    PRINT_TIMEOUT,
                    async move { print_receipt(&printer, &text).await },
                    move |outcome| Msg::Printed {
                        job,
                        result: match outcome {
                            Ok(result) => result,
                            Err(Failure::TimedOut(limit)) => {
                                Err(format!("no answer within {} s", limit.as_secs()))
                            }
                            Err(failure) => Err(failure.to_string()),
                        },
                    },
                );
            }
            Effect::FindReceipt {
                seq,
                till,
                receipt_no,
            } => {
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    async move {
                        let client = Lease::new(store.client().await?, &store);
                        let found = refund::find_by_receipt(&*client, &till, receipt_no).await?;
                        client.release();
                        Ok(found)
                    },
                    move |outcome| Msg::ReceiptFound {
                        seq,
                        result: flatten(outcome),
                    },
                );
            }
            Effect::Void(request) => {
                let key = request.void_key;
                spawn_effect(
                    &self.tx,
                    SUBMIT_TIMEOUT,
                    async move { refund::void_purchase(&store, &request).await },
                    move |outcome| Msg::Voided {
                        key,
                        result: undo_outcome(outcome),
                    },
                );
            }
            Effect::Refund(request) => {
                let key = request.refund_key;
                spawn_effect(
                    &self.tx,
                    SUBMIT_TIMEOUT,
                    async move { refund::refund_purchase(&store, &request).await },
                    move |outcome| Msg::Refunded {
                        key,
                        result: undo_outcome(outcome),
                    },
                );
            }
            Effect::LoadShift => {
                let till = self.till.clone();
                spawn_effect(
                    &self.tx,
                    QUERY_TIMEOUT,
                    async move {
                        let client = Lease::new(store.client().await?, &store);
                        let report = shift::current_shift(&*client, &till).await?;
                        client.release();
                        Ok(report)
                    },
                    move |outcome| Msg::ShiftLoaded(flatten(outcome)),
                );
            }
            Effect::CloseShift { cashier } => {
                let till = self.till.clone();
                spawn_effect(
                    &self.tx,
                    SUBMIT_TIMEOUT,
                    async move { shift::close_shift(&store, &till, cashier).await },
                    move |outcome| Msg::ShiftClosed(flatten(outcome)),
                );
            }
            Effect::ResendRefused(sale_key) => {
                self.handle_refused(sale_key, RefusedAction::Resend, move |j| j.resend(sale_key))
            }
            Effect::SetAsideRefused { sale_key, reason } => {
                self.handle_refused(sale_key, RefusedAction::SetAside, move |j| {
                    j.set_aside(sale_key, &reason)
                })
            }
        }
    }

    /// Writes what the cashier did with a refused sale to the journal (a synced write, off the
    /// async threads), then reports it with what the journal holds.
    fn handle_refused(
        &self,
        sale_key: uuid::Uuid,
        action: RefusedAction,
        write: impl FnOnce(&mut journal::Journal) -> store_core::Result<()> + Send + 'static,
    ) {
        let journal = self.journal.clone();
        let journal_for_status = self.journal.clone();
        spawn_effect(
            &self.tx,
            QUERY_TIMEOUT,
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
                    write(&mut journal).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("internal error ({e}); see the log")))
            },
            move |outcome| Msg::RefusedSaleHandled {
                sale_key,
                action,
                result: outcome.unwrap_or_else(|failure| Err(failure.to_string())),
                status: journal_status(&journal_for_status),
            },
        );
    }

    /// Asks the database a trivial question every `PROBE_EVERY` on a connection of its own
    /// (so that a busy pool cannot make a healthy database look gone), each bounded by
    /// `PROBE_TIMEOUT`, and sends each answer as `Msg::Health`: the status bar says RECONNECTING
    /// within about `PROBE_EVERY + PROBE_TIMEOUT` of the database going away, even over a link
    /// that drops packets silently where no error ever comes, and "connected" as soon after it
    /// is back. A connection that gave no answer is closed; the next probe makes a new one.
    pub fn spawn_health_probe(&self) {
        let store = self.store.clone();
        let tx = self.tx.clone();
        let reachable = self.reachable.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut connection = None;
            loop {
                every.tick().await;
                let health =
                    match tokio::time::timeout(PROBE_TIMEOUT, probe(&store, &mut connection)).await
                    {
                        Ok(answer) => answer.map_err(DbFailure::from),
                        Err(_) => Err(DbFailure::from(Failure::TimedOut(PROBE_TIMEOUT))),
                    };
                if health.is_err() {
                    connection = None;
                }
                let answered = !matches!(&health, Err(failure) if failure.connection);
                reachable.store(answered, Ordering::Relaxed);
                if tx.send(Msg::Health(health)).is_err() {
                    return; // the program is ending
                }
            }
        });
    }
}

/// Kills a printer command's process group (its id is the shell's) unless disarmed: when the
/// effect's bound drops the printing, `kill_on_drop` alone would stop only the shell.
struct KillGroupOnDrop(Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.0.and_then(|id| i32::try_from(id).ok()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(id),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Hands `text` to the printer: on a command's standard input (through `sh -c`; a command that
/// fails says why, in the first line it wrote to its standard error), or appended to a file or
/// device. A command still running when the effect's time is up is killed when dropped, with
/// every process it started: it runs in a process group of its own, killed whole.
pub async fn print_receipt(printer: &ReceiptPrinter, text: &str) -> Result<(), String> {
    match printer {
        ReceiptPrinter::Command(command) => {
            use tokio::io::AsyncWriteExt;
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("{command}: {e}"))?;
            let mut group = KillGroupOnDrop(child.id());
            let mut stdin = child.stdin.take().ok_or("the command took no input")?;
            // A command that exits without reading says so in its exit status, below.
            let written = stdin.write_all(text.as_bytes()).await;
            drop(stdin);
            let output = child
                .wait_with_output()
                .await
                .map_err(|e| format!("{command}: {e}"))?;
            // Finished: what it left running in the background is its own business.
            group.0 = None;
            if !output.status.success() {
                let said = String::from_utf8_lossy(&output.stderr);
                let said = said.lines().next().unwrap_or_default().trim();
                return Err(match (said.is_empty(), output.status.code()) {
                    (false, _) => format!("{command}: {said}"),
                    (true, Some(code)) => format!("{command} exited with status {code}"),
                    (true, None) => format!("{command} was stopped by a signal"),
                });
            }
            written.map_err(|e| format!("{command} did not take the receipt: {e}"))
        }
        ReceiptPrinter::File(path) => {
            let path = path.clone();
            let text = text.to_string();
            blocking(move || {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                file.write_all(text.as_bytes())
                    .and_then(|()| file.flush())
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .await
        }
    }
}

/// `SELECT 1` on the probe's own connection, (re)connecting first if it has none.
async fn probe(
    store: &Store,
    connection: &mut Option<tokio_postgres::Client>,
) -> store_core::Result<()> {
    let client = match connection {
        Some(client) if !client.is_closed() => client,
        _ => connection.insert(store_core::db::store::connect_one(store.config()).await?),
    };
    client.simple_query("SELECT 1").await?;
    Ok(())
}

/// `work` on tokio's blocking threads (file writes, the PIN check), as a future.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("internal error ({e}); see the log")))
}

/// Where the roster is kept: beside the journal, its name with `.roster.json`
/// (`pos-journal.jsonl` -> `pos-journal.roster.json`).
pub fn roster_path(journal: &Path) -> PathBuf {
    journal.with_extension("roster.json")
}

/// The roster an earlier run kept (none: an empty roster).
pub fn read_roster(path: &Path) -> Result<Vec<CashierCredential>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Keeps `roster` at `path`, readable by this user only (it holds PIN hashes): written to a
/// temporary file beside it, synced, then renamed over it, so a crash leaves the old or the
/// new roster, never half of one.
pub fn write_roster(path: &Path, roster: &[CashierCredential]) -> std::io::Result<()> {
    write_private_json(path, &roster)
}

/// Where the catalog is kept: beside the journal, its name with `.catalog.json`
/// (`pos-journal.jsonl` -> `pos-journal.catalog.json`).
pub fn catalog_path(journal: &Path) -> PathBuf {
    journal.with_extension("catalog.json")
}

/// The catalog an earlier run kept (None: none kept).
pub fn read_catalog(path: &Path) -> Result<Option<KeptCatalog>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Keeps `kept` at `path`, the way the roster is kept (`write_roster`).
pub fn write_catalog(path: &Path, kept: &KeptCatalog) -> std::io::Result<()> {
    write_private_json(path, kept)
}

/// `value` as JSON at `path`, readable by this user only: written to a temporary file of its
/// own beside it (a unique name, so that two saves at once never take each other's file),
/// synced, then renamed over it, so a crash leaves the old or the new file, never half.
fn write_private_json(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".kept-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    serde_json::to_writer(&mut file, value)?;
    file.flush()?;
    file.as_file().sync_all()?;
    file.persist(path).map(drop).map_err(|e| e.error)
}

/// A void's or refund's answer; no answer in time (or a panic) may have written it or not, so it
/// is retried with the same key, which cannot undo twice.
fn undo_outcome<T>(
    outcome: Result<Result<T, refund::RefundError>, Failure>,
) -> Result<T, refund::RefundError> {
    match outcome {
        Ok(result) => result,
        Err(failure) => Err(refund::RefundError::Unavailable(failure.to_string())),
    }
}

/// One result from the work's own and the runner's failures.
fn flatten<T>(outcome: Result<store_core::Result<T>, Failure>) -> Result<T, DbFailure> {
    match outcome {
        Ok(result) => result.map_err(DbFailure::from),
        Err(failure) => Err(DbFailure::from(failure)),
    }
}

/// Listens for catalog change notices for as long as the program runs, reconnecting after a
/// short pause that doubles while reconnecting fails (`LISTENER_RETRY`) and starts again from
/// the first once a reconnection worked. Each notice becomes
/// `Msg::CatalogChanged`; the library's "listening" notice (its LISTEN is in place, at start and
/// after every reconnection) becomes `Msg::Listening`.
pub fn spawn_catalog_listener(store: Store, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let config = store.config();
        let mut failures = 0;
        loop {
            let (notices_tx, mut notices_rx) = mpsc::unbounded_channel::<live::Notice>();
            let forward_tx = tx.clone();
            // Ends with whether the LISTEN was in place (the connection worked).
            let forward = tokio::spawn(async move {
                let mut listened = false;
                while let Some(notice) = notices_rx.recv().await {
                    let msg = if notice.channel == LISTENING {
                        listened = true;
                        Msg::Listening
                    } else {
                        Msg::CatalogChanged
                    };
                    if forward_tx.send(msg).is_err() {
                        break;
                    }
                }
                listened
            });
            let result = live::listen(config, &[CATALOG_CHANNEL], notices_tx).await;
            let listened = forward.await.unwrap_or(false);
            match result {
                Ok(()) => return, // the program is ending
                Err(e) => tracing::info!("catalog listener stopped: {e}"),
            }
            if tx.is_closed() {
                return;
            }
            failures = failures_in_a_row(failures, listened);
            tokio::time::sleep(LISTENER_RETRY.delay(failures)).await;
        }
    });
}

/// The listener's failed reconnections in a row, counting the connection that just ended: it
/// counts as the first if its LISTEN was in place (it worked), else as one more.
fn failures_in_a_row(before: u32, listened: bool) -> u32 {
    if listened { 1 } else { before + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Two saves at once (a catalog load and a reload after a notice) each finish whole: the
    /// file is one of them, readable by this user only.
    #[test]
    fn saves_at_once_never_take_each_others_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.jsonl.roster.json");
        std::thread::scope(|scope| {
            for n in 0..4 {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..50 {
                        write_private_json(path, &vec![n; 200]).unwrap();
                    }
                });
            }
        });
        let kept: Vec<i32> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(kept.len(), 200);
        assert!(kept.iter().all(|n| *n == kept[0]));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no file left behind"
        );
    }

    fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    }

    #[test]
    fn a_receipt_goes_to_a_commands_standard_input_or_is_appended_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("printed.txt");
        let command = ReceiptPrinter::Command(format!("cat >> '{}'", out.display()));
        block_on(print_receipt(&command, "first\n")).unwrap();
        block_on(print_receipt(&command, "second\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "first\nsecond\n");
        let file = ReceiptPrinter::File(dir.path().join("device"));
        block_on(print_receipt(&file, "one\n")).unwrap();
        block_on(print_receipt(&file, "two\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("device")).unwrap(),
            "one\ntwo\n"
        );
    }

    #[test]
    fn a_failing_printer_says_why() {
        let failing =
            ReceiptPrinter::Command("echo 'lp: printer receipt is offline' >&2; exit 3".into());
        let err = block_on(print_receipt(&failing, "x\n")).unwrap_err();
        assert!(err.ends_with("lp: printer receipt is offline"), "{err}");
        let silent = ReceiptPrinter::Command("exit 4".into());
        let err = block_on(print_receipt(&silent, "x\n")).unwrap_err();
        assert_eq!(err, "exit 4 exited with status 4");
        let missing = ReceiptPrinter::File("/nonexistent-dir/printer".into());
        let err = block_on(print_receipt(&missing, "x\n")).unwrap_err();
        assert!(err.starts_with("/nonexistent-dir/printer: "), "{err}");
    }

    #[test]
    fn a_hanging_printer_is_stopped_at_the_effects_limit() {
        // The effect's bound drops the work: the command is killed, not left running.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let hanging =
            ReceiptPrinter::Command(format!("echo $$ > '{}'; exec sleep 30", pid_file.display()));
        let outcome = block_on(async {
            tui_runtime::effect::run_bounded(ms(500), async move {
                print_receipt(&hanging, "x\n").await
            })
            .await
        });
        assert!(matches!(outcome, Err(Failure::TimedOut(_))), "{outcome:?}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed on drop (SIGKILL), then reaped by tokio: gone within a moment.
        let gone = (0..100).any(|_| {
            std::thread::sleep(ms(20));
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z "))
        });
        assert!(gone, "the printer command {pid} is still running");
    }

    #[test]
    fn a_hanging_printer_is_stopped_with_the_processes_it_started() {
        // The shell starts a sleep that is not the shell itself (no exec): killing only the
        // shell would leave the sleep running.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let hanging = ReceiptPrinter::Command(format!(
            "sleep 30 & echo $! > '{}'; wait",
            pid_file.display()
        ));
        let outcome = block_on(async {
            tui_runtime::effect::run_bounded(ms(500), async move {
                print_receipt(&hanging, "x\n").await
            })
            .await
        });
        assert!(matches!(outcome, Err(Failure::TimedOut(_))), "{outcome:?}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..100).any(|_| {
            std::thread::sleep(ms(20));
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z "))
        });
        assert!(gone, "the printer command's sleep {pid} is still running");
    }

    /// The pauses before each of `listened.len()` reconnections in a row.
    fn pauses(listened: &[bool]) -> Vec<Duration> {
        let mut failures = 0;
        listened
            .iter()
            .map(|&listened| {
                failures = failures_in_a_row(failures, listened);
                LISTENER_RETRY.delay(failures)
            })
            .collect()
    }

    #[test]
    fn the_roster_is_kept_beside_the_journal_for_this_user_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = roster_path(&dir.path().join("till.jsonl"));
        assert_eq!(path, dir.path().join("till.roster.json"));
        // None kept yet: an empty roster.
        assert_eq!(read_roster(&path).unwrap(), vec![]);
        let hash = store_core::domain::cashier::hash_pin("1234").unwrap();
        let roster: Vec<CashierCredential> = serde_json::from_value(serde_json::json!([
            {"cashier": {"number": 3, "name": "Ann Lee"}, "pin_hash": hash},
            {"cashier": {"number": 7, "name": "Bo Chen"}},
        ]))
        .unwrap();
        write_roster(&path, &roster).unwrap();
        let kept = read_roster(&path).unwrap();
        assert_eq!(kept, roster);
        // What was kept still checks the PIN.
        assert!(kept[0].needs_pin() && kept[0].verify_pin("1234") && !kept[0].verify_pin("1235"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        // Written again over an older one, no temporary file left.
        write_roster(&path, &[]).unwrap();
        assert_eq!(read_roster(&path).unwrap(), vec![]);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&path, "not a roster").unwrap();
        let err = read_roster(&path).unwrap_err();
        assert!(err.contains("till.roster.json"), "{err}");
    }

    #[test]
    fn the_catalog_is_kept_beside_the_journal_for_this_user_only_and_read_back() {
        use rust_decimal::Decimal;
        use store_core::domain::catalog::{Branch, Catalog, Product};

        let dir = tempfile::tempdir().unwrap();
        let path = catalog_path(&dir.path().join("till.jsonl"));
        assert_eq!(path, dir.path().join("till.catalog.json"));
        // None kept yet.
        assert_eq!(read_catalog(&path).unwrap(), None);
        let kept = KeptCatalog {
            kept_at: "2025-03-14T11:02:00Z".parse().unwrap(),
            catalog: Catalog {
                branches: vec![
                    Branch {
                        id: "SMKT001".into(),
                        name: "Harbour Road".into(),
                        timezone: Some("Europe/Lisbon".parse().unwrap()),
                    },
                    Branch {
                        id: "SMKT002".into(),
                        name: "Old Town".into(),
                        timezone: None,
                    },
                ],
                products: vec![Product {
                    id: 1,
                    name: "milk".into(),
                    unit_price: Decimal::new(150, 2),
                }],
            },
        };
        write_catalog(&path, &kept).unwrap();
        assert_eq!(read_catalog(&path).unwrap(), Some(kept.clone()));
        // Exact: the price as a decimal string, the time zone by its name.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#""unit_price":"1.50""#) && text.contains(r#""Europe/Lisbon""#),
            "{text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        // Written again over an older one, no temporary file left.
        let empty = KeptCatalog {
            catalog: Catalog::default(),
            ..kept
        };
        write_catalog(&path, &empty).unwrap();
        assert_eq!(read_catalog(&path).unwrap(), Some(empty));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_malformed_kept_catalog_is_an_error_naming_the_file_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = catalog_path(&dir.path().join("till.jsonl"));
        let malformed = [
            "not a catalog",
            "",
            r#"{"kept_at":"2025-03-14T11:02:00Z"}"#,
            r#"{"kept_at":"yesterday","catalog":{"branches":[],"products":[]}}"#,
            r#"{"kept_at":"2025-03-14T11:02:00Z","catalog":{"branches":[],"products":[{"id":1,"name":"milk","unit_price":1.5e400}]}}"#,
            r#"{"kept_at":"2025-03-14T11:02:00Z","catalog":{"branches":[{"id":"S","name":"n","timezone":"Mars/Olympus"}],"products":[]}}"#,
        ];
        for text in malformed {
            std::fs::write(&path, text).unwrap();
            let err = read_catalog(&path).unwrap_err();
            assert!(err.contains("till.catalog.json"), "{text}: {err}");
        }
    }

    #[test]
    fn the_listener_pause_doubles_while_reconnecting_fails_up_to_two_seconds() {
        assert_eq!(
            pauses(&[false; 7]),
            [
                ms(250),
                ms(500),
                ms(1000),
                ms(2000),
                ms(2000),
                ms(2000),
                ms(2000)
            ]
        );
        // A connection that never listened at start still starts from the first pause.
        assert_eq!(pauses(&[false]), [ms(250)]);
        // Never past the cap, however long it fails.
        assert_eq!(pauses(&[false; 40])[39], ms(2000));
    }

    #[test]
    fn the_listener_pause_starts_again_after_a_reconnection_that_worked() {
        // Connected at start, lost; reconnecting fails three times; a reconnection works (its
        // LISTEN is in place), then it is lost again and reconnecting fails again.
        assert_eq!(
            pauses(&[true, false, false, false, true, false]),
            [ms(250), ms(500), ms(1000), ms(2000), ms(250), ms(500)]
        );
        assert_eq!(
            pauses(&[false, false, false, false, true]),
            [ms(250), ms(500), ms(1000), ms(2000), ms(250)]
        );
    }
}
