//! `store-core simulate`: simulated tills making realistic purchases through the real checkout
//! path, for demos and for watching the live dashboard move.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::cli::generate::PRODUCTS;
use store_core::db::store::Store;
use store_core::domain::catalog::{Catalog, load_catalog, sample_customers};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::error::{Error, Result};

/// The rates `simulate` accepts, in sales per second over all tills.
pub const MIN_RATE: f64 = 0.001;
pub const MAX_RATE: f64 = 10_000.0;

#[derive(Clone, Debug)]
pub struct SimulateOptions {
    /// Purchases per second over all tills.
    pub rate: f64,
    pub tills: usize,
    /// Share of sales to returning customers.
    pub returning_share: f64,
}

/// Running totals, shared with whoever prints them.
#[derive(Debug, Default)]
pub struct SimulateStats {
    pub recorded: AtomicU64,
    pub failed: AtomicU64,
    pub last: Mutex<Option<String>>,
}

/// A random basket with the chain's usual product mix, as product ids of `catalog`.
pub fn random_basket(rng: &mut impl Rng, catalog: &Catalog) -> Vec<i32> {
    let mut ids: Vec<i32> = PRODUCTS
        .iter()
        .filter(|(_, _, share)| rng.random::<f64>() < *share)
        .filter_map(|(name, _, _)| catalog.find_product(name).map(|p| p.id))
        .collect();
    if ids.is_empty() && !catalog.products.is_empty() {
        ids.push(catalog.products[rng.random_range(0..catalog.products.len())].id);
    }
    ids
}

/// A sale at `branch` for a returning customer from `known` (or a new one), with the total the
/// till would show.
pub fn random_sale(
    rng: &mut impl Rng,
    catalog: &Catalog,
    branch: &str,
    known: &[Uuid],
    returning_share: f64,
) -> Sale {
    let customer = if !known.is_empty() && rng.random::<f64>() < returning_share {
        CustomerChoice::Returning(known[rng.random_range(0..known.len())])
    } else {
        CustomerChoice::new_customer()
    };
    let mut sale = Sale::open(branch, customer);
    sale.product_ids = random_basket(rng, catalog);
    sale.expected_total = Some(
        sale.product_ids
            .iter()
            .filter_map(|id| catalog.product(*id))
            .map(|p| p.unit_price)
            .sum::<Decimal>(),
    );
    sale
}

/// Runs `options.tills` tills until `stop` resolves. Each till sells at its branch (round
/// robin over the branches) at `rate / tills` sales per second.
pub async fn simulate(
    store: &Store,
    options: &SimulateOptions,
    stats: Arc<SimulateStats>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    if !(MIN_RATE..=MAX_RATE).contains(&options.rate) || options.tills == 0 {
        return Err(Error::Invalid(format!(
            "--rate must be from {MIN_RATE} to {MAX_RATE} sales per second (got {}) and --tills \
             at least 1",
            options.rate
        )));
    }
    let (catalog, known) = {
        let client = store.client().await?;
        (
            load_catalog(&client).await?,
            sample_customers(&client, 1000).await?,
        )
    };
    if catalog.branches.is_empty() || catalog.products.is_empty() {
        return Err(Error::Invalid(
            "the database has no branches or products: run `store-core seed` first".into(),
        ));
    }
    let period = Duration::from_secs_f64(options.tills as f64 / options.rate);
    let mut tills = tokio::task::JoinSet::new();
    for till in 0..options.tills {
        let store = store.clone();
        let catalog = catalog.clone();
        let known = known.clone();
        let stats = stats.clone();
        let branch = catalog.branches[till % catalog.branches.len()].id.clone();
        let returning_share = options.returning_share;
        tills.spawn(async move {
            let mut rng = StdRng::from_os_rng();
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let sale = random_sale(&mut rng, &catalog, &branch, &known, returning_share);
                match submit(&store, &sale).await {
                    Ok(receipt) => {
                        stats.recorded.fetch_add(1, Ordering::Relaxed);
                        *stats.last.lock().await = Some(format!(
                            "{} #{} {}",
                            receipt.supermarket_id, receipt.purchase_id, receipt.total_amount
                        ));
                    }
                    Err(e) => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("simulated sale failed: {e}");
                    }
                }
            }
        });
    }
    stop.await;
    tills.shutdown().await;
    Ok(())
}
