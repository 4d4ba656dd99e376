//! `store-core generate`: realistic, deterministic data sets of any size in the iCash format.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
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

/// A branch: its share of the chain's sales and its opening hours, Monday first (None: closed).
struct Branch {
    id: &'static str,
    share: f64,
    hours: [Option<(u32, u32)>; 7],
}

const WEEKDAYS_8_TO_20: Option<(u32, u32)> = Some((8, 20));
const LONG_DAY: Option<(u32, u32)> = Some((7, 22));
const WEEKDAYS_7_TO_21: Option<(u32, u32)> = Some((7, 21));

/// A small branch closed on Sundays, a large one open every day until ten, and a middle one
/// with short Sunday hours.
const BRANCHES: [Branch; 3] = [
    Branch {
        id: "SMKT001",
        share: 0.18,
        hours: [
            WEEKDAYS_8_TO_20,
            WEEKDAYS_8_TO_20,
            WEEKDAYS_8_TO_20,
            WEEKDAYS_8_TO_20,
            WEEKDAYS_8_TO_20,
            WEEKDAYS_8_TO_20,
            None,
        ],
    },
    Branch {
        id: "SMKT002",
        share: 0.47,
        hours: [LONG_DAY; 7],
    },
    Branch {
        id: "SMKT003",
        share: 0.35,
        hours: [
            WEEKDAYS_7_TO_21,
            WEEKDAYS_7_TO_21,
            WEEKDAYS_7_TO_21,
            WEEKDAYS_7_TO_21,
            WEEKDAYS_7_TO_21,
            WEEKDAYS_7_TO_21,
            Some((9, 18)),
        ],
    },
];

/// How busy each weekday is, Monday first: Fridays and Saturdays are the big days.
const WEEKDAY_FACTOR: [f64; 7] = [0.88, 0.86, 0.9, 0.97, 1.18, 1.32, 0.8];

/// How busy each hour of an ordinary day is (from 07:00 to 21:00): a morning rush, lunch, and
/// the evening peak after work; weekends spread over the late morning and afternoon.
const WEEKDAY_HOURS: [f64; 15] = [
    0.5, 0.9, 0.7, 0.7, 0.9, 1.3, 1.1, 0.7, 0.7, 1.0, 1.6, 1.8, 1.4, 0.8, 0.4,
];
const WEEKEND_HOURS: [f64; 15] = [
    0.2, 0.4, 0.8, 1.2, 1.4, 1.4, 1.2, 1.1, 1.1, 1.1, 1.1, 1.0, 0.8, 0.5, 0.3,
];
const FIRST_HOUR: u32 = 7;

/// Sales grow by this share a year, evenly over the data's span.
const GROWTH_A_YEAR: f64 = 0.12;

/// Quiet days (month, day, factor): the shops open short hours or see few customers.
const HOLIDAYS: [(u32, u32, f64); 4] = [(1, 1, 0.15), (5, 1, 0.35), (12, 25, 0.1), (12, 26, 0.5)];

/// Of a branch's sales, the share made by its own neighbourhood's customers (the rest come from
/// anywhere in the chain).
const HOME_SHARE: f64 = 0.85;

/// Customers' habits are heavy-tailed: a few come several times a week, most a few times a
/// year. Each customer's weight is drawn from a Pareto distribution with this shape, capped.
const HABIT_SHAPE: f64 = 1.3;
const HABIT_CAP: f64 = 40.0;

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
/// same bytes. Purchases come in time order, inside each branch's opening hours, with busier
/// evenings and weekends, quiet holidays, gentle growth and regular customers.
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
    let customers = Customers::new(options.users, &mut rng);
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

    let plan = sales_per_day_and_branch(options, &mut rng);
    let mut items = String::new();
    let mut day_sales: Vec<(NaiveDateTime, usize)> = Vec::new();
    for (day_index, per_branch) in plan.iter().enumerate() {
        let day = options.start + chrono::Days::new(day_index as u64);
        let weekday = day.weekday().num_days_from_monday() as usize;
        day_sales.clear();
        for (b, &count) in per_branch.iter().enumerate() {
            let Some((opens, closes)) = BRANCHES[b].hours[weekday] else {
                continue;
            };
            for _ in 0..count {
                day_sales.push((time_of_sale(day, weekday, opens, closes, &mut rng), b));
            }
        }
        day_sales.sort();
        for &(at, b) in &day_sales {
            let user = customers.pick(b, &mut rng);
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
                BRANCHES[b].id,
                &at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
                &user.to_string(),
                &items,
                &Decimal::new(total, 2).normalize().to_string(),
            ])
            .map_err(io(&purchases_file))?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(purchases_file.display().to_string(), e))?;
    Ok(GenerateReport {
        products_file,
        purchases_file,
        purchases: options.purchases,
    })
}

/// How many sales each branch makes each day: the total spread by weekday, holidays, growth,
/// branch size and opening hours, with a little day-to-day noise, adding up to exactly
/// `options.purchases` (largest remainders).
fn sales_per_day_and_branch(options: &GenerateOptions, rng: &mut ChaCha8Rng) -> Vec<[u64; 3]> {
    let span_years = f64::from(options.days) / 365.0;
    let weights: Vec<[f64; 3]> = (0..options.days)
        .map(|i| {
            let day = options.start + chrono::Days::new(u64::from(i));
            let weekday = day.weekday().num_days_from_monday() as usize;
            let growth = 1.0 + GROWTH_A_YEAR * span_years * f64::from(i) / f64::from(options.days);
            let holiday = HOLIDAYS
                .iter()
                .find(|(m, d, _)| day.month() == *m && day.day() == *d)
                .map_or(1.0, |(_, _, f)| *f);
            let noise = 0.9 + 0.2 * rng.random::<f64>();
            let day_weight = WEEKDAY_FACTOR[weekday] * growth * holiday * noise;
            std::array::from_fn(|b| {
                let branch = &BRANCHES[b];
                branch.hours[weekday].map_or(0.0, |(opens, closes)| {
                    let open_share = hours_weight(weekday, opens, closes) / hours_weight(0, 7, 22);
                    day_weight * branch.share * open_share
                })
            })
        })
        .collect();
    let total_weight: f64 = weights.iter().flatten().sum();
    let wanted = options.purchases as f64;
    let mut counts: Vec<[u64; 3]> = Vec::with_capacity(weights.len());
    let mut remainders = Vec::new();
    let mut assigned = 0u64;
    for (d, w) in weights.iter().enumerate() {
        let mut day = [0u64; 3];
        for b in 0..3 {
            let exact = wanted * w[b] / total_weight;
            day[b] = exact.floor() as u64;
            assigned += day[b];
            remainders.push((exact - exact.floor(), d, b));
        }
        counts.push(day);
    }
    // Largest remainders first; ties by position, so the result is the same on every machine.
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    for &(_, d, b) in remainders
        .iter()
        .take(options.purchases.saturating_sub(assigned) as usize)
    {
        counts[d][b] += 1;
    }
    counts
}

/// The weight of a branch's opening hours on `weekday` (how much of an ordinary day's trade
/// they hold).
fn hours_weight(weekday: usize, opens: u32, closes: u32) -> f64 {
    let profile = hour_profile(weekday);
    (opens..closes)
        .filter_map(|h| profile.get(h.checked_sub(FIRST_HOUR)? as usize))
        .sum()
}

fn hour_profile(weekday: usize) -> &'static [f64; 15] {
    if weekday >= 5 {
        &WEEKEND_HOURS
    } else {
        &WEEKDAY_HOURS
    }
}

/// A sale time inside the opening hours, by the hour's weight.
fn time_of_sale(
    day: NaiveDate,
    weekday: usize,
    opens: u32,
    closes: u32,
    rng: &mut ChaCha8Rng,
) -> NaiveDateTime {
    let profile = hour_profile(weekday);
    let hours: Vec<(u32, f64)> = (opens..closes)
        .filter_map(|h| Some((h, *profile.get(h.checked_sub(FIRST_HOUR)? as usize)?)))
        .collect();
    let total: f64 = hours.iter().map(|(_, w)| w).sum();
    let mut r = rng.random::<f64>() * total;
    let mut hour = hours.last().map_or(opens, |(h, _)| *h);
    for &(h, w) in &hours {
        if r < w {
            hour = h;
            break;
        }
        r -= w;
    }
    day.and_hms_opt(hour, 0, 0).expect("an opening hour exists")
        + Duration::microseconds(rng.random_range(0..3_600_000_000))
}

/// The chain's customers: each one's neighbourhood branch and habit, and cumulative weights to
/// draw them by (a customer with twice the weight comes twice as often).
struct Customers {
    ids: Vec<Uuid>,
    all: Vec<f64>,
    /// Per branch: the indices of its neighbourhood's customers and their cumulative weights.
    home: [(Vec<usize>, Vec<f64>); 3],
}

impl Customers {
    fn new(users: u64, rng: &mut ChaCha8Rng) -> Customers {
        let mut ids = Vec::with_capacity(users as usize);
        let mut all = Vec::with_capacity(users as usize);
        let mut home: [(Vec<usize>, Vec<f64>); 3] = Default::default();
        let mut running = 0.0;
        for i in 0..users as usize {
            ids.push(uuid::Builder::from_random_bytes(rng.random()).into_uuid());
            let habit = (1.0 - rng.random::<f64>())
                .powf(-1.0 / HABIT_SHAPE)
                .min(HABIT_CAP);
            running += habit;
            all.push(running);
            let b = pick_branch(rng.random());
            let (members, cumulative) = &mut home[b];
            let before = cumulative.last().copied().unwrap_or(0.0);
            members.push(i);
            cumulative.push(before + habit);
        }
        Customers { ids, all, home }
    }

    /// A customer for a sale at branch `b`.
    fn pick(&self, b: usize, rng: &mut ChaCha8Rng) -> Uuid {
        let (members, cumulative) = &self.home[b];
        let index = if rng.random::<f64>() < HOME_SHARE && !members.is_empty() {
            members[draw(cumulative, rng)]
        } else {
            draw(&self.all, rng)
        };
        self.ids[index]
    }
}

/// An index drawn by weight from cumulative weights.
fn draw(cumulative: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let r = rng.random::<f64>() * cumulative.last().copied().unwrap_or(0.0);
    cumulative
        .partition_point(|&c| c <= r)
        .min(cumulative.len() - 1)
}

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
        .and_hms_opt(FIRST_HOUR, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| refuse("not a date the data can start on".into()))?;
    let last = options
        .start
        .checked_add_days(chrono::Days::new(u64::from(options.days) - 1))
        .and_then(|day| day.and_hms_opt(LAST_CLOSING, 0, 0))
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

/// The latest closing time of any branch.
const LAST_CLOSING: u32 = 22;

/// A branch drawn by its share of the sales.
fn pick_branch(r: f64) -> usize {
    let mut acc = 0.0;
    for (i, branch) in BRANCHES.iter().enumerate() {
        acc += branch.share;
        if r < acc {
            return i;
        }
    }
    BRANCHES.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

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
        // The command's defaults: 90 days from 2026-09-01 end on 2026-11-29.
        assert!(check_window(&options((2026, 9, 1), 90), now).is_ok());
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

    /// The purchases `options` generate, as (branch, time, customer) rows.
    fn generated(options: &GenerateOptions) -> (Vec<u8>, Vec<(String, NaiveDateTime, String)>) {
        generate(options).unwrap();
        let bytes = fs::read(options.out.join("purchases.csv")).unwrap();
        let rows = csv::Reader::from_reader(&bytes[..])
            .records()
            .map(|r| {
                let r = r.unwrap();
                let at = NaiveDateTime::parse_from_str(&r[1], "%Y-%m-%dT%H:%M:%S%.f").unwrap();
                (r[0].to_string(), at, r[2].to_string())
            })
            .collect();
        (bytes, rows)
    }

    #[test]
    fn the_data_looks_like_a_shop_and_is_the_same_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut eight_weeks = options((2025, 11, 3), 56);
        eight_weeks.purchases = 20_000;
        eight_weeks.users = 15_000;
        eight_weeks.out = dir.path().join("a");
        let (bytes, rows) = generated(&eight_weeks);
        eight_weeks.out = dir.path().join("b");
        assert_eq!(
            generated(&eight_weeks).0,
            bytes,
            "the same options, the same bytes"
        );
        assert_eq!(rows.len(), 20_000, "exactly the purchases asked for");
        assert!(rows.windows(2).all(|w| w[0].1 <= w[1].1), "in time order");

        let weekday = |r: &(String, NaiveDateTime, String)| r.1.weekday().num_days_from_monday();
        // Inside each branch's hours: SMKT001 never on a Sunday, nobody before 07:00 or from
        // 22:00, SMKT003 from 09:00 to 18:00 on Sundays.
        assert!(!rows.iter().any(|r| r.0 == "SMKT001" && weekday(r) == 6));
        assert!(rows.iter().all(|r| (7..22).contains(&r.1.hour())));
        assert!(
            rows.iter()
                .filter(|r| r.0 == "SMKT003" && weekday(r) == 6)
                .all(|r| (9..18).contains(&r.1.hour()))
        );
        // Saturdays are busier than Tuesdays, evenings than mid-afternoons, and the big branch
        // than the small one.
        let count = |f: &dyn Fn(&(String, NaiveDateTime, String)) -> bool| {
            rows.iter().filter(|r| f(r)).count()
        };
        assert!(count(&|r| weekday(r) == 5) > count(&|r| weekday(r) == 1) * 5 / 4);
        let on_weekdays_at = |h: u32| count(&|r| weekday(r) < 5 && r.1.hour() == h);
        assert!(on_weekdays_at(18) > on_weekdays_at(15) * 2);
        assert!(count(&|r| r.0 == "SMKT002") > count(&|r| r.0 == "SMKT001") * 2);
        // Christmas Day is quiet.
        let on = |m: u32, d: u32| count(&|r| r.1.month() == m && r.1.day() == d);
        assert!(
            on(12, 25) * 4 < on(12, 18),
            "{} on Christmas Day",
            on(12, 25)
        );
        // Regulars come back: some customers buy every few days, most only a few times.
        let mut visits: std::collections::HashMap<&str, usize> = Default::default();
        for r in &rows {
            *visits.entry(r.2.as_str()).or_default() += 1;
        }
        let most = visits.values().copied().max().unwrap();
        let once = visits.values().filter(|&&n| n == 1).count();
        assert!(
            most >= 20,
            "the most regular customer came {most} times in eight weeks"
        );
        assert!(
            once * 5 > visits.len(),
            "{once} of {} customers came once",
            visits.len()
        );
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
