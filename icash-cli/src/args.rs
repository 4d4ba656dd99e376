//! Options the programs share, for `#[command(flatten)]`.

/// The environment variable that stands for `--database-url`.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

/// `--database-url` / `DATABASE_URL`, on the commands that use a database.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DatabaseArgs {
    /// PostgreSQL connection string (URL or key=value). Without it: the configuration file's
    /// `database_url`, then the libpq PG* variables, then the embedded default database.
    #[arg(long, env = DATABASE_URL_ENV, hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
}

/// The environment variable that stands for `--timezone`.
pub const TIMEZONE_ENV: &str = "ICASH_TIMEZONE";

/// `--timezone` / `ICASH_TIMEZONE`, on the programs and commands that cut time into days.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ZoneArgs {
    /// The chain's time zone, an IANA name such as Europe/Paris: "today", the days and hours
    /// of charts and reports, receipts' times. Without it: the configuration file's
    /// `timezone`, then the machine's own zone.
    #[arg(long, env = TIMEZONE_ENV, value_name = "ZONE")]
    pub timezone: Option<String>,
}
