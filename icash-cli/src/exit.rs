//! The exit statuses of all three programs (`store-core`, `pos-tui`, `owner-tui`): one table,
//! one meaning per code. The man pages' EXIT STATUS and the README's table are made from it.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::VariantArray)]
#[repr(u8)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Usage = 2,
    ServerStopped = 3,
    ServerNotCreated = 4,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Every status, in the order of their codes.
    pub fn all() -> &'static [ExitStatus] {
        <ExitStatus as strum::VariantArray>::VARIANTS
    }

    /// What the status means, as the man pages and the README say it.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Success => {
                "Done as asked (for `store-core db status`: the embedded server runs)."
            }
            ExitStatus::Failure => {
                "Something failed while running: the database, a file, the till's journal, the \
                 configuration file (its errors name it, its `database_url` included)."
            }
            ExitStatus::Usage => {
                "The command line or an environment variable standing for an option was not \
                 understood: clap's usage errors, and a malformed `--database-url` / \
                 `DATABASE_URL`."
            }
            ExitStatus::ServerStopped => {
                "`store-core db status`: the embedded server is stopped (as `pg_ctl status`)."
            }
            ExitStatus::ServerNotCreated => {
                "`store-core db status`: the embedded server was never created (as `pg_ctl \
                 status`)."
            }
        }
    }

    /// The table of every status in Markdown, as the README holds it.
    pub fn markdown_table() -> String {
        let mut table = String::from("| exit status | meaning (all three programs) |\n|---|---|\n");
        for status in Self::all() {
            table.push_str(&format!("| {} | {} |\n", status.code(), status.meaning()));
        }
        table
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

    #[test]
    fn the_codes_count_up_from_zero_without_a_gap() {
        let codes: Vec<u8> = ExitStatus::all().iter().map(|s| s.code()).collect();
        let expected: Vec<u8> = (0..codes.len() as u8).collect();
        assert_eq!(codes, expected);
    }

    #[test]
    fn the_readme_holds_the_table_of_exit_statuses() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("the workspace's README.md");
        let table = ExitStatus::markdown_table();
        assert!(
            readme.contains(&table),
            "README.md must hold this table (made by ExitStatus::markdown_table):\n{table}"
        );
    }
}
