//! `store-core generate`: realistic, deterministic data sets of any size in the iCash format.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use uuid::Uuid;

use store_core::domain::sale_time;
use store_core::error::{Error, Result};

/// The chain's ten products, their prices in cents, and how often a basket holds each one.
pub const PRODUCTS: [(&str, i64, f64); 10] = [
    ("milk", 150, 0.83),
    ("bread", 200, 0.81),
    ("eggs", 300, 0.82),
    ("chicken", 650, 0.04),
    ("apples", 80, 0.03),
    ("toilet paper", 400, 0.045),
    ("cereal", 350, 0.035),
    ("cheese", 500, 0.035),
    ("yogurt", 120, 0.035),
    ("orange juice", 280, 0.035),
];

/// Branches and their share of purchases.
const BRANCHES: [(&str, f64); 3] = [("SMKT001", 0.15), ("SMKT002", 0.45), ("SMKT003", 0.40)];

const REGULARS_SHARE: f64 = 0.25;

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub purchases: u64,
    pub users: u64,
    pub seed: u64,
    pub out: PathBuf,
    pub start: NaiveDate,
    pub days: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GenerateReport {
    pub products_file: PathBuf,
    pub purchases_file: PathBuf,
    pub purchases: u64,
}

/// Writes `products_list.csv` and `purchases.csv` into `out`. The same options always give the
/// same bytes. Purchases come in time order, between 07:00 and 22:00 each day.
pub fn generate(options: &GenerateOptions) -> Result<GenerateReport> {
    if options.users == 0 || options.days == 0 {
        return Err(Error::Invalid(
            "--users and --days must be at least 1".into(),
        ));
    }
    check_window(options, Utc::now())?;
    fs::create_dir_all(&options.out)
        .map_err(|e| Error::io(format!("creating {}", options.out.display()), e))?;
    let products_file = options.out.join("products_list.csv");
    let purchases_file = options.out.join("purchases.csv");
    let io = |path: &PathBuf| {
        let path = path.display().to_string();
        move |e: csv::Error| Error::File {
            path: path.clone(),
            message: e.to_string(),
        }
    };

    let mut products = csv::Writer::from_path(&products_file).map_err(io(&products_file))?;
    products
        .write_record(["product_name", "unit_price"])
        .map_err(io(&products_file))?;
    for (name, cents, _) in PRODUCTS {
        products
            .write_record([name, &Decimal::new(cents, 2).to_string()])
            .map_err(io(&products_file))?;
    }
    products
        .flush()
        .map_err(|e| Error::io(products_file.display().to_string(), e))?;

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let users: Vec<Uuid> = (0..options.users)
        .map(|_| uuid::Builder::from_random_bytes(rng.random()).into_uuid())
        .collect();
    let file = File::create(&purchases_file)
        .map_err(|e| Error::io(format!("creating {}", purchases_file.display()), e))?;
    let mut out = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
    out.write_record([
        "supermarket_id",
        "timestamp",
        "user_id",
        "items_list",
        "total_amount",
    ])
    .map_err(io(&purchases_file))?;

    let start = options
        .start
        .and_hms_opt(OPENS, 0, 0)
        .expect("07:00 exists");
    let open_seconds = u64::from(CLOSES - OPENS) * 3600;
    let total_seconds = u64::from(options.days) * open_seconds;
    let mut items = String::new();
    for i in 0..options.purchases {
        let offset = i * total_seconds / options.purchases.max(1);
        let (day, second) = (offset / open_seconds, offset % open_seconds);
        let at = start
            + Duration::days(day as i64)
            + Duration::seconds(second as i64)
            + Duration::microseconds(rng.random_range(0..1_000_000));
        let branch = pick_branch(rng.random());
        // A quarter of the sales go to a small pool of regulars; the rest are spread over
        // everyone, most of whom buy once or twice.
        let pool = if rng.random::<f64>() < REGULARS_SHARE {
            (users.len() / 12).max(1)
        } else {
            users.len()
        };
        let user = users[rng.random_range(0..pool)];
        items.clear();
        let mut total = 0i64;
        for (name, cents, share) in PRODUCTS {
            if rng.random::<f64>() < share {
                if !items.is_empty() {
                    items.push(',');
                }
                items.push_str(name);
                total += cents;
            }
        }
        if items.is_empty() {
            let (name, cents, _) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
            items.push_str(name);
            total = cents;
        }
        out.write_record([
            branch,
            &at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            &user.to_string(),
            &items,
            &Decimal::new(total, 2).normalize().to_string(),
        ])
        .map_err(io(&purchases_file))?;
    }
    out.flush()
        .map_err(|e| Error::io(purchases_file.display().to_string(), e))?;
    Ok(GenerateReport {
        products_file,
        purchases_file,
        purchases: options.purchases,
    })
}

/// The shop's hours: every generated sale is at or after 07:00 and before 22:00.
const OPENS: u32 = 7;
const CLOSES: u32 = 22;

/// Refuses a data set that would hold a sale time the seeder refuses (before 2000, or in the
/// future at `now`), before anything is written.
fn check_window(options: &GenerateOptions, now: DateTime<Utc>) -> Result<()> {
    let refuse = |message: String| {
        Error::Invalid(format!(
            "--start {} --days {}: {message}",
            options.start, options.days
        ))
    };
    let first = options
        .start
        .and_hms_opt(OPENS, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| refuse("not a date the data can start on".into()))?;
    let last = options
        .start
        .checked_add_days(chrono::Days::new(u64::from(options.days) - 1))
        .and_then(|day| day.and_hms_opt(CLOSES, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| refuse("the last day is past the calendar's end".into()))?;
    if last > now + sale_time::MAX_AHEAD {
        return Err(refuse(format!(
            "the data would end at {last}, in the future, and the seeder refuses sales more than \
             {} minutes ahead; choose an earlier --start or fewer --days",
            sale_time::MAX_AHEAD.num_minutes()
        )));
    }
    sale_time::check(first, now).map_err(refuse)
}

fn pick_branch(r: f64) -> &'static str {
    let mut acc = 0.0;
    for (id, share) in BRANCHES {
        acc += share;
        if r < acc {
            return id;
        }
    }
    BRANCHES[BRANCHES.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn options(start: (i32, u32, u32), days: u32) -> GenerateOptions {
        GenerateOptions {
            purchases: 10,
            users: 5,
            seed: 1,
            out: PathBuf::from("unused"),
            start: NaiveDate::from_ymd_opt(start.0, start.1, start.2).unwrap(),
            days,
        }
    }

    #[test]
    fn the_data_stays_between_2000_and_now() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        // The command's defaults: 30 days from 2026-10-26 end on 2026-11-24.
        assert!(check_window(&options((2026, 10, 26), 30), now).is_ok());
        // Ending today at 22:00 would be hours ahead of this morning's clock.
        let err = check_window(&options((2026, 11, 2), 30), now)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "--start 2026-11-02 --days 30: the data would end at 2026-12-01 22:00:00 UTC"
            ),
            "{err}"
        );
        let err = check_window(&options((1999, 12, 30), 3), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is before 2000-01-01"), "{err}");
    }

    #[test]
    fn a_future_start_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut future = options((2999, 1, 1), 1);
        future.out = dir.path().join("out");
        let err = generate(&future).unwrap_err().to_string();
        assert!(err.contains("in the future"), "{err}");
        assert!(!future.out.exists());
    }
}
