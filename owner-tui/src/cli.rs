//! owner-tui's command line and what its man page says beyond it.

use std::path::PathBuf;

use icash_cli::docs::{Entry, Manual, entries};

/// The owner's live dashboard: buyers, loyal buyers, top products, revenue and sales; for any
/// period or typed date range, each figure against the period before, products, baskets,
/// hours, tills, cashiers and one customer's visits.
///
/// Settings not given as flags or environment variables are read from the optional
/// configuration file ($ICASH_CONFIG, else $XDG_CONFIG_HOME/icash/config.toml).
#[derive(clap::Parser, Debug)]
#[command(name = "owner-tui", version, about)]
pub struct Args {
    #[command(flatten)]
    pub database: icash_cli::args::DatabaseArgs,
    #[command(flatten)]
    pub zone: icash_cli::args::ZoneArgs,
    /// Purchases that make a loyal buyer (change it live with + and -) [default: the file's
    /// `min_purchases`, else 3].
    #[arg(long, env = "MIN_PURCHASES", value_parser = clap::value_parser!(i32).range(1..))]
    pub min_purchases: Option<i32>,
    /// Seconds between fallback refreshes (live notices refresh sooner) [default: the file's
    /// `refresh_secs`, else 60].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh: Option<u64>,
    /// Where `e` writes its CSV files (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub export_dir: Option<PathBuf>,
    #[command(flatten)]
    pub docs: icash_cli::docs::DocFlags,
}

/// The man page's ENVIRONMENT (beyond the options' variables) and FILES.
pub const MANUAL: Manual = Manual {
    environment: &[
        entries::ICASH_HOME,
        entries::ICASH_CONFIG,
        entries::XDG,
        entries::RUST_LOG_TO_FILE,
    ],
    files: &[
        entries::CONFIG_FILE,
        entries::DATABASE_HOME,
        Entry {
            name: "$ICASH_HOME/logs/owner-tui.log.YYYY-MM-DD",
            text: "The log, rotated daily, seven days kept; never written to the screen.",
        },
        Entry {
            name: "loyal-buyers_*.csv, top-products_*.csv",
            text: "What the e key exports from the overview, in --export-dir (default: the current directory).",
        },
        Entry {
            name: "summary_*.csv, products_*.csv, hours_*.csv, tills_*.csv, cashiers_*.csv, customer_*.csv",
            text: "What the e key exports from the other views and from a customer, in --export-dir.",
        },
    ],
};
