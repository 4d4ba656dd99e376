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
