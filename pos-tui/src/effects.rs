//! Runs `Effect`s against store-core as tokio tasks; every result (and every panic of a task)
//! comes back to the loop as a `Msg`. Nothing here is awaited by the input or render path.

use std::future::Future;
use std::time::Duration;

use store_core::Store;
use store_core::catalog;
use store_core::checkout::{CheckoutError, Sale};
use store_core::journal::{self, Outcome, SharedJournal};
use store_core::live::{self, CATALOG_CHANNEL, LISTENING};
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::app::{
    DbFailure, Effect, JournalStatus, Msg, RefusedAction, SEARCH_DEBOUNCE_MS, SEARCH_LIMIT,
};

/// Longest wait for a sale to be written; past it the sale is queued if the journal has it,
/// else the outcome is unknown and the cashier retries with the same sale key.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(20);
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest round of sending queued sales; what is not sent by then waits for the next round.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Runner {
    store: Store,
    journal: SharedJournal,
    tx: UnboundedSender<Msg>,
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

impl Runner {
    pub fn new(store: Store, journal: SharedJournal, tx: UnboundedSender<Msg>) -> Runner {
        Runner { store, journal, tx }
    }

    pub fn run(&self, effect: Effect) {
        let store = self.store.clone();
        match effect {
            Effect::LoadCatalog => self.spawn(
                async move {
                    let result = timed(QUERY_TIMEOUT, async {
                        let client = store.client().await?;
                        catalog::load_catalog(&client).await
                    })
                    .await;
                    Msg::CatalogLoaded(result)
                },
                |panic| Msg::CatalogLoaded(Err(panic)),
            ),
            Effect::DebounceCustomerSearch { seq } => self.spawn(
                async move {
                    tokio::time::sleep(Duration::from_millis(SEARCH_DEBOUNCE_MS)).await;
                    Msg::CustomerSearchDue { seq }
                },
                move |_| Msg::CustomerSearchDue { seq },
            ),
            Effect::SearchCustomers { seq, prefix } => self.spawn(
                async move {
                    let result = timed(QUERY_TIMEOUT, async {
                        let client = store.client().await?;
                        catalog::search_customers(&client, &prefix, SEARCH_LIMIT).await
                    })
                    .await;
                    Msg::CustomerResults { seq, result }
                },
                move |panic| Msg::CustomerResults {
                    seq,
                    result: Err(panic),
                },
            ),
            Effect::Submit(sale) => {
                let sale_key = sale.sale_key;
                let journal = self.journal.clone();
                let journal_on_panic = self.journal.clone();
                let sale_on_panic = sale.clone();
                self.spawn_then_status(
                    async move {
                        tracing::info!(%sale_key, products = ?sale.product_ids, expected = ?sale.expected_total, "submitting");
                        let result = match tokio::time::timeout(
                            SUBMIT_TIMEOUT,
                            journal::submit_durably(&store, &journal, &sale),
                        )
                        .await
                        {
                            Ok(result) => result,
                            Err(_) => queued_or_unknown(
                                &journal,
                                &sale,
                                format!("no answer within {} s", SUBMIT_TIMEOUT.as_secs()),
                            ),
                        };
                        Msg::Submitted { sale_key, result }
                    },
                    // Queued if the journal has it; else unknown, and the same key makes the
                    // retry safe.
                    move |panic| Msg::Submitted {
                        sale_key,
                        result: queued_or_unknown(&journal_on_panic, &sale_on_panic, panic.message),
                    },
                )
            }
            Effect::Drain => {
                let journal = self.journal.clone();
                let journal_on_panic = self.journal.clone();
                self.spawn(
                    async move {
                        let result = match tokio::time::timeout(
                            DRAIN_TIMEOUT,
                            journal::drain(&store, &journal),
                        )
                        .await
                        {
                            Ok(result) => result.map_err(DbFailure::from),
                            Err(_) => Err(DbFailure {
                                message: format!(
                                    "sending queued sales: no answer within {} s",
                                    DRAIN_TIMEOUT.as_secs()
                                ),
                                connection: true,
                            }),
                        };
                        let status = journal_status(&journal);
                        Msg::Drained { result, status }
                    },
                    move |panic| Msg::Drained {
                        result: Err(panic),
                        status: journal_status(&journal_on_panic),
                    },
                )
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
        let journal_on_panic = self.journal.clone();
        self.spawn(
            async move {
                let writer = journal.clone();
                let result = tokio::task::spawn_blocking(move || {
                    let mut journal = writer.lock().unwrap_or_else(|p| p.into_inner());
                    write(&mut journal).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("internal error ({e}); see the log")));
                Msg::RefusedSaleHandled {
                    sale_key,
                    action,
                    result,
                    status: journal_status(&journal),
                }
            },
            move |panic| Msg::RefusedSaleHandled {
                sale_key,
                action,
                result: Err(panic.message),
                status: journal_status(&journal_on_panic),
            },
        )
    }

    /// Runs `work` as a task and sends its message; if the task panics, sends `on_panic`'s.
    fn spawn<F>(&self, work: F, on_panic: impl FnOnce(DbFailure) -> Msg + Send + 'static)
    where
        F: Future<Output = Msg> + Send + 'static,
    {
        self.spawn_inner(work, on_panic, None);
    }

    /// Like `spawn`, then sends what the journal holds.
    fn spawn_then_status<F>(
        &self,
        work: F,
        on_panic: impl FnOnce(DbFailure) -> Msg + Send + 'static,
    ) where
        F: Future<Output = Msg> + Send + 'static,
    {
        self.spawn_inner(work, on_panic, Some(self.journal.clone()));
    }

    fn spawn_inner<F>(
        &self,
        work: F,
        on_panic: impl FnOnce(DbFailure) -> Msg + Send + 'static,
        then_status: Option<SharedJournal>,
    ) where
        F: Future<Output = Msg> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let msg = match tokio::spawn(work).await {
                Ok(msg) => msg,
                Err(e) => {
                    tracing::error!("a background task failed: {e}");
                    on_panic(DbFailure {
                        message: format!("internal error ({e}); see the log"),
                        connection: false,
                    })
                }
            };
            // The receiver is gone only when the program is ending.
            let _ = tx.send(msg);
            if let Some(journal) = then_status {
                let _ = tx.send(Msg::Journal(journal_status(&journal)));
            }
        });
    }
}

async fn timed<T>(
    limit: Duration,
    work: impl Future<Output = store_core::Result<T>>,
) -> Result<T, DbFailure> {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result.map_err(DbFailure::from),
        Err(_) => Err(DbFailure {
            message: format!("no answer from the database within {} s", limit.as_secs()),
            connection: true,
        }),
    }
}

/// Listens for catalog change notices for as long as the program runs, reconnecting with
/// back-off. Each notice becomes `Msg::CatalogChanged`; the library's "listening" notice (its
/// LISTEN is in place, at start and after every reconnection) becomes `Msg::Listening`.
pub fn spawn_catalog_listener(store: Store, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let config = store.config();
        let mut backoff = Duration::from_secs(1);
        loop {
            let (notices_tx, mut notices_rx) = mpsc::unbounded_channel::<live::Notice>();
            let forward_tx = tx.clone();
            let forward = tokio::spawn(async move {
                while let Some(notice) = notices_rx.recv().await {
                    let msg = if notice.channel == LISTENING {
                        Msg::Listening
                    } else {
                        Msg::CatalogChanged
                    };
                    if forward_tx.send(msg).is_err() {
                        break;
                    }
                }
            });
            let started = tokio::time::Instant::now();
            let result = live::listen(config, &[CATALOG_CHANNEL], notices_tx).await;
            let _ = forward.await;
            match result {
                Ok(()) => return, // the program is ending
                Err(e) => tracing::info!("catalog listener stopped: {e}"),
            }
            if tx.is_closed() {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_secs(1);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
}
