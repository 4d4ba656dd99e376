//! Runs `Effect`s against store-core as tokio tasks; every result (and every panic of a task)
//! comes back to the loop as a `Msg`. Nothing here is awaited by the input or render path.

use std::future::Future;
use std::time::Duration;

use store_core::Store;
use store_core::catalog;
use store_core::checkout::{self, CheckoutError};
use store_core::live::{self, CATALOG_CHANNEL};
use tokio::sync::mpsc::{self, UnboundedSender};

use crate::app::{DbFailure, Effect, Msg, SEARCH_DEBOUNCE_MS, SEARCH_LIMIT};

/// Longest wait for a sale to be written; past it the outcome is unknown and the cashier
/// retries with the same sale key.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(20);
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Runner {
    store: Store,
    tx: UnboundedSender<Msg>,
}

impl Runner {
    pub fn new(store: Store, tx: UnboundedSender<Msg>) -> Runner {
        Runner { store, tx }
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
                self.spawn(
                    async move {
                        tracing::info!(%sale_key, products = ?sale.product_ids, expected = ?sale.expected_total, "submitting");
                        let result =
                            match tokio::time::timeout(SUBMIT_TIMEOUT, checkout::submit(&store, &sale))
                                .await
                            {
                                Ok(result) => result,
                                Err(_) => Err(CheckoutError::Unavailable(format!(
                                    "no answer within {} s",
                                    SUBMIT_TIMEOUT.as_secs()
                                ))),
                            };
                        Msg::Submitted { sale_key, result }
                    },
                    // The outcome is unknown: the same key makes the retry safe.
                    move |panic| Msg::Submitted {
                        sale_key,
                        result: Err(CheckoutError::Unavailable(panic.message)),
                    },
                )
            }
        }
    }

    /// Runs `work` as a task and sends its message; if the task panics, sends `on_panic`'s.
    fn spawn<F>(&self, work: F, on_panic: impl FnOnce(DbFailure) -> Msg + Send + 'static)
    where
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
/// back-off; each notice (and each reconnection, since notices were missed meanwhile) becomes
/// `Msg::CatalogChanged`.
pub fn spawn_catalog_listener(store: Store, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let config = store.config();
        let mut backoff = Duration::from_secs(1);
        let mut first = true;
        loop {
            let (notices_tx, mut notices_rx) = mpsc::unbounded_channel();
            let forward_tx = tx.clone();
            let forward = tokio::spawn(async move {
                while notices_rx.recv().await.is_some() {
                    if forward_tx.send(Msg::CatalogChanged).is_err() {
                        break;
                    }
                }
            });
            if !first && tx.send(Msg::CatalogChanged).is_err() {
                return;
            }
            first = false;
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
