//! The `store-core` command line (clap), and what its man pages say beyond it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use icash_cli::args::{DatabaseArgs, ZoneArgs};
use icash_cli::docs::{Entry, Manual, entries};
use icash_cli::parse::finite_in_range;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::cashier::CashierAction;
use super::catalog::{BranchAction, ProductAction};
use super::journal::JournalAction;
use super::report::ReportAction;
use super::simulate;

#[derive(Parser, Debug)]
#[command(
    name = "store-core",
    version,
    about = "iCash store core: database, seeding, checkout and analytics"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage the embedded database server.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Apply the schema's numbered migrations that the database lacks, in order (a second run
    /// does nothing). The only command that changes the schema of a named server.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Keep trying to reach the database for up to this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        wait: u64,
    },
    /// Load products and purchases from iCash CSV files (all or nothing). A timestamp without
    /// an offset (2025-05-26T19:51:00) is a time on the chain's clock (--timezone); one a clock
    /// change skips is read with the offset from before the change, one it repeats as the
    /// second (PostgreSQL's rule).
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        zone: ZoneArgs,
        /// The products file. Default: data/products_list.csv if it exists here, else the
        /// built-in demo data.
        #[arg(long, value_name = "FILE")]
        products: Option<PathBuf>,
        /// The purchases file. Default: data/purchases.csv if it exists here, else the built-in
        /// demo data.
        #[arg(long, value_name = "FILE")]
        purchases: Option<PathBuf>,
        /// DESTRUCTIVE: empty every table first, without asking.
        #[arg(long)]
        reset: bool,
        /// Keep trying to reach the database for up to this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        wait: u64,
        /// Print the report as JSON (and no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Write a realistic, deterministic data set in the iCash CSV format.
    Generate {
        /// How many purchases to write.
        #[arg(long, default_value_t = 12_000)]
        purchases: u64,
        /// How many different customers buy.
        #[arg(long, default_value_t = 4000)]
        users: u64,
        /// The random seed: the same options always give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The directory to write products_list.csv and purchases.csv into.
        #[arg(long, value_name = "DIR", default_value = "data")]
        out: PathBuf,
        /// First day of the data (YYYY-MM-DD).
        #[arg(long, default_value = "2026-09-01")]
        start: chrono::NaiveDate,
        /// How many days the purchases span.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// Record one purchase through the checkout path.
    Purchase {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The branch selling (e.g. SMKT001), matched exactly.
        #[arg(long, value_name = "ID")]
        supermarket: String,
        /// `new` for a first-time customer, or a known customer's UUID. With `--sale-key`, the
        /// new customer's id follows from the key: the same command again replays the sale.
        #[arg(long)]
        user: String,
        /// Products by name or id, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        items: Vec<String>,
        /// Refuse the sale unless current prices make this total.
        #[arg(long)]
        expected_total: Option<Decimal>,
        /// Idempotency key: the same key never makes a second purchase (the same sale again is
        /// answered with the stored purchase; another sale under it is refused).
        #[arg(long)]
        sale_key: Option<Uuid>,
        /// Print the receipt as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unique buyers, loyal buyers and top products over all branches.
    Analytics {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Purchases that make a loyal buyer. Default: MIN_PURCHASES, then the config file's
        /// `min_purchases`, then 3 (at least 1).
        #[arg(long, env = "MIN_PURCHASES", value_parser = clap::value_parser!(i32).range(1..))]
        min_purchases: Option<i32>,
        /// Print the report as JSON (the original API's shape).
        #[arg(long)]
        json: bool,
        /// Only this branch's sales.
        #[arg(long, value_name = "ID")]
        branch: Option<String>,
        /// Only the sales from this day on (YYYY-MM-DD, a whole day in the chain's time zone).
        /// Without --to: up to today.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Only the sales up to this day, included (YYYY-MM-DD); needs --from.
        #[arg(long, value_name = "DATE", requires = "from")]
        to: Option<String>,
        #[command(flatten)]
        zone: ZoneArgs,
    },
    /// Fold the queued sales into the analytics counters, once or every SECS seconds until
    /// Ctrl-C. Run it against the primary, as a role that may fold (the database's owner), when
    /// dashboards read a hot standby or run as icash_owner, which do not fold: it keeps the
    /// queue they add to every read short.
    Fold {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Fold again every this many seconds (0.05 to 3600) until Ctrl-C; once without it.
        #[arg(long, value_name = "SECS", value_parser = parse_fold_interval)]
        every: Option<std::time::Duration>,
    },
    /// Keep making realistic purchases through the real checkout path until Ctrl-C.
    Simulate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Purchases per second, over all tills (0.001 to 10000).
        #[arg(long, default_value_t = 5.0,
              value_parser = finite_in_range(simulate::MIN_RATE, simulate::MAX_RATE))]
        rate: f64,
        /// How many tills sell at once (1 to 256), round robin over the branches.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=256))]
        tills: u16,
        /// Share of sales to returning customers (0 to 1).
        #[arg(long, default_value_t = 0.6, value_parser = finite_in_range(0.0, 1.0))]
        returning: f64,
    },
    /// Measure analytics, checkout, seeding and the HTTP API, each beside its baseline. Runs on a throwaway
    /// server unless --database-url names one (then in scratch databases it drops after).
    Bench {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Scale: purchases in the large data set (10000 to 50000000).
        #[arg(long, default_value_t = 100_000,
              value_parser = clap::value_parser!(u64).range(10_000..=50_000_000))]
        purchases: u64,
        /// Customers in the generated data. Default: a third of the purchases.
        #[arg(long, value_parser = clap::value_parser!(u64).range(100..=50_000_000))]
        users: Option<u64>,
        /// Days of generated history, ending yesterday (1 to 3650).
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Numbers of concurrent tills to measure checkout with (each 1 to 256).
        #[arg(long, value_delimiter = ',', default_value = "1,4,16",
              value_parser = clap::value_parser!(u16).range(1..=256))]
        tills: Vec<u16>,
        /// Seconds of measurement per mode and tills count (0.5 to 3600).
        #[arg(long, default_value_t = 4.0, value_parser = finite_in_range(0.5, 3600.0))]
        seconds: f64,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create the least-privilege roles: icash_clerk (reads the catalog and customers, records
    /// purchases, changes nothing else), icash_owner (reads only) and icash_manager (changes the
    /// catalog and the cashiers, through their functions only).
    Roles {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Let icash_clerk log in with this password.
        #[arg(long, env = "ICASH_CLERK_PASSWORD", hide_env_values = true)]
        clerk_password: Option<String>,
        /// Let icash_owner log in with this password.
        #[arg(long, env = "ICASH_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: Option<String>,
        /// Let icash_manager log in with this password.
        #[arg(long, env = "ICASH_MANAGER_PASSWORD", hide_env_values = true)]
        manager_password: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: icash_cli::docs::Shell,
    },
    /// Print the man page (roff): `store-core man > store-core.1`; with --dir, write one page
    /// per command there.
    Man {
        /// Write store-core.1 and a page per command (store-core-seed.1, store-core-db-status.1,
        /// ...) into this directory instead of printing the main page.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Branches and products with prices.
    Catalog {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print the catalog as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API: the seed system's endpoints (/cashier, /dashboard) and /v1, with
    /// bearer tokens per role (ICASH_API_CLERK_TOKEN, ICASH_API_OWNER_TOKEN or the config
    /// file's [api] table). SIGTERM or Ctrl-C shuts it down gracefully.
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        zone: ZoneArgs,
        /// Another connection string for the analytics endpoints, so that each role's requests
        /// run with that role's rights: --database-url as icash_clerk, this as icash_owner.
        /// Default: the same connection for both.
        #[arg(
            long,
            value_name = "URL",
            env = "ICASH_API_OWNER_DATABASE_URL",
            hide_env_values = true
        )]
        owner_database_url: Option<String>,
        /// The address to listen on. Default: the config file's [api] listen, then
        /// 127.0.0.1:8001.
        #[arg(long, value_name = "ADDR", env = "ICASH_API_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Let requests without a token act with these roles (clerk, owner; comma-separated),
        /// for the seed system's web pages, which send none. Only on a private network.
        #[arg(long, value_name = "ROLES", value_delimiter = ',')]
        open: Vec<crate::serve::auth::Role>,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(
            long,
            value_name = "FILE",
            env = "ICASH_API_TLS_CERT",
            requires = "tls_key"
        )]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(
            long,
            value_name = "FILE",
            env = "ICASH_API_TLS_KEY",
            requires = "tls_cert"
        )]
        tls_key: Option<PathBuf>,
        /// Purchases that make a loyal buyer when a request names none. Default:
        /// MIN_PURCHASES, then the config file's `min_purchases`, then 3.
        #[arg(long, env = "MIN_PURCHASES", value_parser = clap::value_parser!(i32).range(1..))]
        min_purchases: Option<i32>,
        /// Keep trying to reach the database for up to this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        wait: u64,
    },
    /// A till's journal of sales (while no till holds it): list, resend, export.
    Journal {
        #[command(subcommand)]
        action: JournalAction,
    },
    /// The branches: add, rename, list (changes as icash_manager or the schema's owner).
    Branch {
        #[command(subcommand)]
        action: BranchAction,
    },
    /// The products: add, change a price, retire, restore, list (changes as icash_manager or
    /// the schema's owner).
    Product {
        #[command(subcommand)]
        action: ProductAction,
    },
    /// The cashiers who sign in at the tills: add (with a PIN, as a manager), list, retire.
    Cashier {
        #[command(subcommand)]
        action: CashierAction,
    },
    /// Reports from the shell: a till's shifts (X and Z figures).
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
}

impl Command {
    /// The connection string of a command that uses a database; None for one that does not.
    pub fn database_url(&mut self) -> Option<&mut Option<String>> {
        match self {
            Command::Migrate { database, .. }
            | Command::Seed { database, .. }
            | Command::Purchase { database, .. }
            | Command::Analytics { database, .. }
            | Command::Simulate { database, .. }
            | Command::Fold { database, .. }
            | Command::Bench { database, .. }
            | Command::Roles { database, .. }
            | Command::Catalog { database, .. }
            | Command::Serve { database, .. } => Some(&mut database.database_url),
            Command::Journal {
                action: JournalAction::Resend { database, .. },
            } => Some(&mut database.database_url),
            Command::Branch { action } => Some(action.database_url()),
            Command::Product { action } => Some(action.database_url()),
            Command::Cashier { action } => Some(action.database_url()),
            Command::Report { action } => Some(action.database_url()),
            Command::Db { .. }
            | Command::Generate { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Journal { .. } => None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum DbAction {
    /// Is the embedded server created, running? Exit status (as `pg_ctl status`): 0 running,
    /// 3 stopped, 4 never created.
    #[command(
        after_help = "Exit status: 0 when the server runs, 3 when it is stopped, 4 when it was \
                      never created (as `pg_ctl status`), 1 on any other error."
    )]
    Status,
    /// Create (with demo data) if needed, and start.
    Start,
    /// Stop the embedded server.
    Stop,
    /// Print the connection string: `psql "$(store-core db url)"`. Fails for a server that was
    /// never created.
    Url,
}

/// The man pages' ENVIRONMENT (beyond the options' variables) and FILES.
pub const MANUAL: Manual = Manual {
    environment: &[
        entries::ICASH_HOME,
        entries::ICASH_CONFIG,
        entries::XDG,
        entries::RUST_LOG_TO_STDERR,
        Entry {
            name: "ICASH_API_CLERK_TOKEN, ICASH_API_OWNER_TOKEN",
            text: "serve: the bearer tokens of the clerk role (sells, reads the catalog) and the \
                   owner role (reads analytics); else the config file's [api] clerk_token and \
                   owner_token. Without one, that role needs --open.",
        },
    ],
    files: &[
        entries::CONFIG_FILE,
        entries::DATABASE_HOME,
        Entry {
            name: "--journal PATH, PATH.quarantine, PATH.lock",
            text: "A till's journal of sales (pos-tui's default: $ICASH_HOME/pos-journal.jsonl), \
                   the lines set aside as unreadable, and the lock a till holds while it runs.",
        },
    ],
};

/// `--every`: seconds, from 0.05 to 3600 (a trailing `s` is allowed: `1s`).
fn parse_fold_interval(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.05..=3600.0).contains(&secs) {
        return Err(format!("{text} s is outside 0.05 to 3600 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fold_interval_is_seconds_within_bounds() {
        use std::time::Duration;
        assert_eq!(super::parse_fold_interval("1"), Ok(Duration::from_secs(1)));
        assert_eq!(super::parse_fold_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(
            super::parse_fold_interval("0.25"),
            Ok(Duration::from_millis(250))
        );
        assert!(super::parse_fold_interval("0").is_err());
        assert!(super::parse_fold_interval("soon").is_err());
        assert!(super::parse_fold_interval("7200").is_err());
    }

    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_command_and_option_has_a_help_line() {
        let undocumented = icash_cli::docs::undocumented(Cli::command());
        assert!(undocumented.is_empty(), "without help: {undocumented:?}");
    }

    #[test]
    fn only_the_commands_that_use_a_database_take_database_url() {
        fn walk(command: &clap::Command, path: &str, found: &mut Vec<String>) {
            if command
                .get_arguments()
                .any(|a| a.get_long() == Some("database-url"))
            {
                found.push(path.to_string());
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut found = Vec::new();
        walk(&Cli::command(), "store-core", &mut found);
        let expected: Vec<String> = [
            "migrate",
            "seed",
            "purchase",
            "analytics",
            "fold",
            "simulate",
            "bench",
            "roles",
            "catalog",
            "serve",
            "journal resend",
            "branch add",
            "branch rename",
            "branch list",
            "product add",
            "product price",
            "product retire",
            "product restore",
            "product list",
            "cashier add",
            "cashier list",
            "cashier retire",
            "report shift",
        ]
        .iter()
        .map(|c| format!("store-core {c}"))
        .collect();
        assert_eq!(found, expected);
    }
}
