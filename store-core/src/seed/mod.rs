//! Loading the iCash CSV files (read and checked by [`crate::import`]) into the database: all
//! or nothing, through COPY. The demo data is in [`demo`].

pub mod demo;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::path::PathBuf;

use chrono::{DateTime, Timelike, Utc};
use deadpool_postgres::GenericClient;
use futures_util::pin_mut;
use rust_decimal::Decimal;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::db::store::Store;
use crate::domain::input;
use crate::domain::time_zone::Tz;
use crate::error::{Error, Result};
use crate::import;
use crate::import::{CsvSource, PurchaseReader, PurchaseRow, read_products};

#[derive(Clone, Debug)]
pub struct SeedOptions {
    pub products: CsvSource,
    pub purchases: CsvSource,
    /// Empty every table first (destructive).
    pub reset: bool,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// The chain's time zone, in which timestamps without an offset are read.
    pub zone: Tz,
}

impl SeedOptions {
    pub fn from_files(products: PathBuf, purchases: PathBuf) -> Self {
        SeedOptions {
            products: CsvSource::Path(products),
            purchases: CsvSource::Path(purchases),
            reset: false,
            progress: false,
            zone: Tz::UTC,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    /// False when the database already held purchases and nothing was loaded.
    pub loaded: bool,
    pub products: usize,
    pub branches: usize,
    pub purchases: u64,
    pub items: u64,
    /// How long each phase of the load took, in order (also logged at debug level).
    #[serde(skip)]
    pub phases: Vec<(String, std::time::Duration)>,
}

const SEED_LOCK: i64 = 0x1CA5_0002;

/// The phases that stream the rows in (`SeedReport::phases`), before any key or counter.
pub const PHASE_COPY_PURCHASES: &str = "copy purchases";
pub const PHASE_COPY_LINES: &str = "copy lines";

const TRUNCATE_ALL: &str = "TRUNCATE refund_line, refund, purchase_void, purchase_product, purchase, \
     shift, purchase_unfolded, customer, customer_branch, stat_customer_histogram, stat_product_units, stat_branch_totals, \
     stat_branch_histogram, stat_branch_product_units, stat_branch_hourly, stat_branch_daily, \
     stat_branch_product_daily, stat_branch_product_hourly, product, supermarket \
     RESTART IDENTITY";

/// The counters are rebuilt by grouping every purchase by customer: with the default 4 MB of
/// work_mem those groupings spill to disk (1M purchases: 3.8 s instead of 2.6-3.1 s). Only for
/// this transaction; index builds keep the server's maintenance_work_mem (a larger one made
/// them slower here).
const LOAD_SETTINGS: &str = "SET LOCAL work_mem = '256MB'";

const HAS_PURCHASES: &str = "SELECT EXISTS (SELECT 1 FROM purchase)";

const UPSERT_PRODUCTS: &str = "INSERT INTO product (name, unit_price) \
     SELECT * FROM unnest($1::text[], $2::numeric[]) \
     ON CONFLICT (name) DO UPDATE SET unit_price = excluded.unit_price \
     RETURNING id, name";

const INSERT_BRANCHES: &str =
    "INSERT INTO supermarket (id) SELECT unnest($1::text[]) ON CONFLICT (id) DO NOTHING";

/// Keys and indexes of the tables the load fills (purchases, lines, customers) as DDL, so that
/// they can be dropped for the bulk load and rebuilt after it (much faster than maintaining
/// them row by row). Foreign keys come
/// last in `create` and first in `drop`, those of other tables that point at them (voids and
/// refunds) included.
const KEY_DDL: &str = "WITH cons AS ( \
       SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype, \
              pg_get_constraintdef(c.oid) AS def \
       FROM pg_constraint c \
       WHERE (c.conrelid IN ('purchase'::regclass, 'purchase_product'::regclass, 'customer'::regclass, \
                             'customer_branch'::regclass) \
              AND c.contype IN ('p', 'u', 'f')) \
          OR (c.confrelid IN ('purchase'::regclass, 'purchase_product'::regclass) AND c.contype = 'f')), \
     idx AS ( \
       SELECT i.indrelid::regclass::text AS tbl, i.indexrelid::regclass::text AS name, \
              pg_get_indexdef(i.indexrelid) AS def \
       FROM pg_index i \
       WHERE i.indrelid IN ('purchase'::regclass, 'purchase_product'::regclass, 'customer'::regclass, \
                            'customer_branch'::regclass) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)) \
     SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', tbl, conname) AS drop_ddl, \
            format('ALTER TABLE %I ADD CONSTRAINT %I %s', tbl, conname, def) AS create_ddl, \
            CASE contype WHEN 'f' THEN 2 ELSE 1 END AS stage \
     FROM cons \
     UNION ALL \
     SELECT format('DROP INDEX %s', name), def, 1 FROM idx";

const SET_PURCHASE_SEQUENCE: &str = "SELECT setval(pg_get_serial_sequence('purchase', 'id'), \
     coalesce((SELECT max(id) FROM purchase), 0) + 1, false)";

/// Rebuilds every analytics counter from the raw rows.
const REBUILD_COUNTERS: &str = "
    TRUNCATE purchase_unfolded, customer, customer_branch, stat_customer_histogram,
        stat_product_units, stat_branch_totals, stat_branch_histogram, stat_branch_product_units,
        stat_branch_hourly;
    INSERT INTO customer (user_id, purchases, first_purchase_at, last_purchase_at)
        SELECT user_id, count(*), min(created_at), max(created_at) FROM purchase GROUP BY user_id;
    INSERT INTO stat_customer_histogram (purchases, customers)
        SELECT purchases, count(*) FROM customer GROUP BY purchases;
    INSERT INTO customer_branch (supermarket_id, user_id, purchases)
        SELECT supermarket_id, user_id, count(*) FROM purchase GROUP BY 1, 2;
    INSERT INTO stat_branch_histogram (supermarket_id, purchases, customers)
        SELECT supermarket_id, purchases, count(*) FROM customer_branch GROUP BY 1, 2;";

// The small counters, counted while the rows streamed past (see `SmallCounters`).
const INSERT_BRANCH_TOTALS: &str = "INSERT INTO stat_branch_totals (supermarket_id, purchases, revenue) \
     SELECT * FROM unnest($1::text[], $2::int8[], $3::numeric[])";
const INSERT_BRANCH_UNITS: &str = "INSERT INTO stat_branch_product_units (supermarket_id, product_id, units) \
     SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[]) AS u (branch, product, units) \
     WHERE u.units > 0";
const INSERT_UNITS: &str = "INSERT INTO stat_product_units (product_id, units) \
     SELECT * FROM unnest($1::int4[], $2::int8[]) AS u (product, units) WHERE u.units > 0";
const INSERT_HOURLY: &str = "INSERT INTO stat_branch_hourly (supermarket_id, hour, purchases, revenue, items) \
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::numeric[], $5::int8[])";
// The day-level counters exist from migration 6 on; on an older schema (a database the
// migrations bring up to date after the load) the migration counts them from the rows.
const HAS_DAY_COUNTERS: &str = "SELECT to_regclass('public.stat_branch_daily') IS NOT NULL";
const TRUNCATE_DAY_COUNTERS: &str =
    "TRUNCATE stat_branch_daily, stat_branch_product_daily, stat_branch_product_hourly";
const INSERT_HOURLY_BEFORE_6: &str = "INSERT INTO stat_branch_hourly (supermarket_id, hour, purchases, revenue) \
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::numeric[])";
// The days are the hours' UTC dates, summed.
const INSERT_DAILY: &str = "INSERT INTO stat_branch_daily (supermarket_id, day, purchases, revenue, items) \
     SELECT h.supermarket_id, (h.hour AT TIME ZONE 'UTC')::date, sum(h.purchases), sum(h.revenue), sum(h.items) \
     FROM stat_branch_hourly h GROUP BY 1, 2";
const INSERT_PRODUCT_HOURLY: &str = "INSERT INTO stat_branch_product_hourly (supermarket_id, hour, product_id, units, revenue) \
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int4[], $4::int8[], $5::numeric[])";
const INSERT_PRODUCT_DAILY: &str = "INSERT INTO stat_branch_product_daily (supermarket_id, day, product_id, units, revenue) \
     SELECT h.supermarket_id, (h.hour AT TIME ZONE 'UTC')::date, h.product_id, sum(h.units), sum(h.revenue) \
     FROM stat_branch_product_hourly h GROUP BY 1, 2, 3";

/// Counters with a handful of rows (per branch, per product, per branch and hour), counted in
/// the stream so that the database does not group millions of rows again for them.
#[derive(Default)]
struct SmallCounters {
    /// Per branch: purchases, revenue, units per product (by index in the products list).
    branches: BTreeMap<String, (i64, Decimal, Vec<i64>)>,
    hours: BTreeMap<(String, DateTime<Utc>), HourFigures>,
}

/// Per branch and UTC hour: purchases, revenue, items, and units per product (by index).
type HourFigures = (i64, Decimal, i64, Vec<i64>);

impl SmallCounters {
    fn add(&mut self, row: &PurchaseRow, products: usize) {
        let branch = self
            .branches
            .entry(row.supermarket_id.clone())
            .or_insert_with(|| (0, Decimal::ZERO, vec![0; products]));
        branch.0 += 1;
        branch.1 += row.total_amount;
        for &item in &row.items {
            branch.2[item] += 1;
        }
        // Calendar truncation, exact for any date (duration_trunc counts nanoseconds and gives
        // up after 2262).
        let hour = row
            .created_at
            .date_naive()
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            + chrono::TimeDelta::hours(i64::from(row.created_at.hour()));
        let slot = self
            .hours
            .entry((row.supermarket_id.clone(), hour))
            .or_insert_with(|| (0, Decimal::ZERO, 0, vec![0; products]));
        slot.0 += 1;
        slot.1 += row.total_amount;
        slot.2 += row.items.len() as i64;
        for &item in &row.items {
            slot.3[item] += 1;
        }
    }

    async fn insert(
        &self,
        tx: &impl GenericClient,
        product_ids: &[i32],
        prices: &[Decimal],
    ) -> Result<()> {
        let ids: Vec<&str> = self.branches.keys().map(String::as_str).collect();
        let purchases: Vec<i64> = self.branches.values().map(|b| b.0).collect();
        let revenue: Vec<Decimal> = self.branches.values().map(|b| b.1).collect();
        tx.execute(INSERT_BRANCH_TOTALS, &[&ids, &purchases, &revenue])
            .await?;

        let (mut unit_branches, mut unit_products, mut units) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut all_units = vec![0i64; product_ids.len()];
        for (branch, (_, _, per_product)) in &self.branches {
            for (index, count) in per_product.iter().enumerate() {
                unit_branches.push(branch.as_str());
                unit_products.push(product_ids[index]);
                units.push(*count);
                all_units[index] += count;
            }
        }
        tx.execute(
            INSERT_BRANCH_UNITS,
            &[&unit_branches, &unit_products, &units],
        )
        .await?;
        tx.execute(INSERT_UNITS, &[&product_ids, &all_units])
            .await?;

        let hour_branches: Vec<&str> = self.hours.keys().map(|(b, _)| b.as_str()).collect();
        let hours: Vec<DateTime<Utc>> = self.hours.keys().map(|(_, h)| *h).collect();
        let hour_purchases: Vec<i64> = self.hours.values().map(|v| v.0).collect();
        let hour_revenue: Vec<Decimal> = self.hours.values().map(|v| v.1).collect();
        let hour_items: Vec<i64> = self.hours.values().map(|v| v.2).collect();
        let day_counters: bool = tx.query_one(HAS_DAY_COUNTERS, &[]).await?.try_get(0)?;
        if !day_counters {
            tx.execute(
                INSERT_HOURLY_BEFORE_6,
                &[&hour_branches, &hours, &hour_purchases, &hour_revenue],
            )
            .await?;
            return Ok(());
        }
        tx.batch_execute(TRUNCATE_DAY_COUNTERS).await?;
        tx.execute(
            INSERT_HOURLY,
            &[
                &hour_branches,
                &hours,
                &hour_purchases,
                &hour_revenue,
                &hour_items,
            ],
        )
        .await?;
        tx.execute(INSERT_DAILY, &[]).await?;

        let (mut branches, mut at, mut products, mut units, mut revenue) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ((branch, hour), (_, _, _, per_product)) in &self.hours {
            for (index, count) in per_product.iter().enumerate().filter(|(_, n)| **n > 0) {
                branches.push(branch.as_str());
                at.push(*hour);
                products.push(product_ids[index]);
                units.push(*count);
                revenue.push(prices[index] * Decimal::from(*count));
            }
        }
        tx.execute(
            INSERT_PRODUCT_HOURLY,
            &[&branches, &at, &products, &units, &revenue],
        )
        .await?;
        tx.execute(INSERT_PRODUCT_DAILY, &[]).await?;
        Ok(())
    }
}

/// Validates and loads both files in one transaction: any bad row, and nothing is written.
pub async fn seed(store: &Store, options: &SeedOptions) -> Result<SeedReport> {
    let mut phase = Phase::start();
    let products = read_products(&options.products)?;
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEED_LOCK])
        .await?;
    tx.batch_execute(LOAD_SETTINGS).await?;
    if options.reset {
        tx.batch_execute(TRUNCATE_ALL).await?;
    } else if tx
        .query_one(HAS_PURCHASES, &[])
        .await?
        .try_get::<_, bool>(0)?
    {
        return Ok(SeedReport {
            loaded: false,
            products: 0,
            branches: 0,
            purchases: 0,
            items: 0,
            phases: Vec::new(),
        });
    }

    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    let prices: Vec<Decimal> = products.iter().map(|p| p.unit_price).collect();
    let ids_by_name = tx
        .query(UPSERT_PRODUCTS, &[&names, &prices])
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<_, String>(1)?, r.try_get::<_, i32>(0)?)))
        .collect::<Result<HashMap<String, i32>>>()?;
    refuse_case_twins(
        &options.products.name(),
        "products",
        &tx.query("SELECT name FROM product", &[]).await?,
        input::name_key,
    )?;
    let product_ids = products
        .iter()
        .map(|p| {
            ids_by_name
                .get(&p.name)
                .copied()
                .ok_or_else(|| Error::Invalid(format!("product {:?} was not stored", p.name)))
        })
        .collect::<Result<Vec<i32>>>()?;

    let keys = tx.query(KEY_DDL, &[]).await?;
    let mut drops: Vec<(i32, String)> = Vec::new();
    let mut creates: Vec<(i32, String)> = Vec::new();
    for row in &keys {
        let stage: i32 = row.try_get(2)?;
        drops.push((-stage, row.try_get(0)?));
        creates.push((stage, row.try_get(1)?));
    }
    drops.sort_by_key(|(stage, _)| *stage);
    creates.sort_by_key(|(stage, _)| *stage);
    for (_, ddl) in &drops {
        tx.batch_execute(ddl).await?;
    }
    phase.done("prepare");

    let (reader, len) = options.purchases.open()?;
    let progress = progress_bar(options.progress, len);
    let reader = BufReader::with_capacity(1 << 16, progress.wrap_read(reader));
    let mut rows = PurchaseReader::new(options.purchases.name(), reader, &products, options.zone)?;
    // A purchase row takes 60 bytes or more (the UUID alone is 36).
    rows.reserve_rows(usize::try_from(len / 60).unwrap_or(0).min(100_000_000));
    let mut spool = BufWriter::new(
        tempfile::tempfile().map_err(|e| Error::io("creating a temporary file", e))?,
    );
    let mut small = SmallCounters::default();
    let mut purchases = 0u64;
    let mut items = 0u64;
    {
        let sink = tx
            .copy_in(
                "COPY purchase (id, supermarket_id, created_at, user_id, total_amount) FROM STDIN BINARY",
            )
            .await?;
        let writer = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::UUID,
                Type::NUMERIC,
            ],
        );
        pin_mut!(writer);
        while let Some(row) = rows.next_row()? {
            purchases += 1;
            let id = purchases as i64;
            small.add(&row, products.len());
            for &item in &row.items {
                spool
                    .write_all(&id.to_le_bytes())
                    .and_then(|_| spool.write_all(&(item as u32).to_le_bytes()))
                    .map_err(|e| Error::io("writing a temporary file", e))?;
                items += 1;
            }
            let values: [&(dyn ToSql + Sync); 5] = [
                &id,
                &row.supermarket_id,
                &row.created_at,
                &row.user_id,
                &row.total_amount,
            ];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
    }
    progress.finish_and_clear();
    import::confirm_duplicates(
        &options.purchases,
        &products,
        rows.take_duplicate_candidates(),
        options.zone,
    )?;
    phase.done(PHASE_COPY_PURCHASES);

    let mut spool = spool
        .into_inner()
        .map_err(|e| Error::io("writing a temporary file", e.into_error()))?;
    spool
        .rewind()
        .map_err(|e| Error::io("reading a temporary file", e))?;
    let mut spool = BufReader::with_capacity(1 << 16, spool);
    {
        let sink = tx
            .copy_in(
                "COPY purchase_product (purchase_id, product_id, unit_price) FROM STDIN BINARY",
            )
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT4, Type::NUMERIC]);
        pin_mut!(writer);
        let mut record = [0u8; 12];
        for _ in 0..items {
            spool
                .read_exact(&mut record)
                .map_err(|e| Error::io("reading a temporary file", e))?;
            let purchase_id = i64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
            let index = u32::from_le_bytes(record[8..].try_into().expect("4 bytes")) as usize;
            let values: [&(dyn ToSql + Sync); 3] =
                [&purchase_id, &product_ids[index], &prices[index]];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
    }

    phase.done(PHASE_COPY_LINES);
    let branch_list: Vec<&str> = small.branches.keys().map(String::as_str).collect();
    tx.execute(INSERT_BRANCHES, &[&branch_list]).await?;
    refuse_case_twins(
        &options.purchases.name(),
        "branch ids",
        &tx.query("SELECT id FROM supermarket", &[]).await?,
        |id| id.to_lowercase(),
    )?;
    tx.query_one(SET_PURCHASE_SEQUENCE, &[]).await?;
    tx.batch_execute(REBUILD_COUNTERS).await?;
    small.insert(&tx, &product_ids, &prices).await?;
    phase.done("rebuild counters");
    for (_, ddl) in &creates {
        tx.batch_execute(ddl).await?;
        phase.done(ddl);
    }
    tx.commit().await?;
    phase.done("commit");
    client
        .batch_execute("ANALYZE purchase, purchase_product, customer")
        .await?;
    phase.done("analyze");
    Ok(SeedReport {
        loaded: true,
        products: products.len(),
        branches: small.branches.len(),
        purchases,
        items,
        phases: phase.finished,
    })
}

/// Refuses two stored names (the file's, now beside those already in the database) that are
/// matched as one: products by [`input::name_key`], branch ids ignoring case.
fn refuse_case_twins(
    source: &str,
    what: &str,
    rows: &[tokio_postgres::Row],
    key: impl Fn(&str) -> String,
) -> Result<()> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for row in rows {
        let name: String = row.try_get(0)?;
        if let Some(other) = seen.insert(key(&name), name.clone()) {
            return Err(Error::File {
                path: source.to_string(),
                message: format!(
                    "{what} {} and {} differ only by case (one was already in the database): \
                     use one spelling, or load with --reset",
                    input::quote(&other),
                    input::quote(&name)
                ),
            });
        }
    }
    Ok(())
}

/// How long each phase of a load took (also logged: RUST_LOG=store_core=debug).
struct Phase {
    started: std::time::Instant,
    finished: Vec<(String, std::time::Duration)>,
}

impl Phase {
    fn start() -> Phase {
        Phase {
            started: std::time::Instant::now(),
            finished: Vec::new(),
        }
    }
    fn done(&mut self, what: &str) {
        let took = self.started.elapsed();
        tracing::debug!("seed: {what}: {:.3} s", took.as_secs_f64());
        self.finished.push((what.to_string(), took));
        self.started = std::time::Instant::now();
    }
}

fn progress_bar(wanted: bool, len: u64) -> indicatif::ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} seeding {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .expect("valid template"),
    );
    bar
}
