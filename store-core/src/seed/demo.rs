//! The demo data shipped in the binary, so that the embedded default works from anywhere.

use crate::db::store::Store;
use crate::domain::time_zone::Tz;
use crate::error::Result;
use crate::import::CsvSource;
use crate::seed::{SeedOptions, SeedReport, seed};

pub const DEMO_PRODUCTS: &[u8] = include_bytes!("../../../data/products_list.csv");
pub const DEMO_PURCHASES: &[u8] = include_bytes!("../../../data/purchases.csv");

impl SeedOptions {
    pub fn demo() -> Self {
        SeedOptions {
            products: CsvSource::Bytes {
                name: "data/products_list.csv (built in)".into(),
                bytes: DEMO_PRODUCTS,
            },
            purchases: CsvSource::Bytes {
                name: "data/purchases.csv (built in)".into(),
                bytes: DEMO_PURCHASES,
            },
            reset: false,
            progress: false,
            // The demo data's times are UTC wherever it is loaded.
            zone: Tz::UTC,
        }
    }
}

/// Loads the demo data into an empty database (the embedded default's first use).
pub async fn seed_if_empty(store: &Store) -> Result<Option<SeedReport>> {
    let client = store.client().await?;
    let empty: bool = client
        .query_one("SELECT NOT EXISTS (SELECT 1 FROM product)", &[])
        .await?
        .try_get(0)?;
    drop(client);
    if !empty {
        return Ok(None);
    }
    seed(store, &SeedOptions::demo()).await.map(Some)
}
