//! The exit statuses of all three programs (`store-core`, `pos-tui`, `owner-tui`): one table,
//! one meaning per code.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Done as asked (for `store-core db status`: the embedded server runs).
    Success = 0,
    /// Something failed while running: the database, a file, the till's journal, the
    /// configuration file (its own errors name it, `database_url` in it included).
    Failure = 1,
    /// The command line or an environment variable standing for an option was not understood:
    /// clap's usage errors, and a malformed `--database-url` / `DATABASE_URL`.
    Usage = 2,
    /// `store-core db status`: the embedded server is stopped (as `pg_ctl status`).
    ServerStopped = 3,
    /// `store-core db status`: the embedded server was never created (as `pg_ctl status`).
    ServerNotCreated = 4,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn usage_errors_share_clap_s_own_code() {
        let clap_usage = clap::Command::new("t")
            .try_get_matches_from(["t", "--nope"])
            .unwrap_err()
            .exit_code();
        assert_eq!(i32::from(ExitStatus::Usage.code()), clap_usage);
    }
}
