//! pos-tui's command line and what its man page says beyond it.

use std::path::PathBuf;

use icash_cli::docs::{Entry, Manual, entries};

/// The cashier's till: keyboard-driven checkout on the iCash store database.
///
/// Settings come from the flags, then the environment variables, then the optional file
/// $XDG_CONFIG_HOME/icash/config.toml (or ICASH_CONFIG): `database_url`, `supermarket`, `till`,
/// `receipt_command`, `receipt_file`, `receipt_width`.
#[derive(clap::Parser, Debug)]
#[command(name = "pos-tui", version)]
pub struct Args {
    #[command(flatten)]
    pub database: icash_cli::args::DatabaseArgs,
    #[command(flatten)]
    pub zone: icash_cli::args::ZoneArgs,
    /// The branch to work at (e.g. SMKT002); without it the till asks at start.
    #[arg(long, value_name = "ID", env = "ICASH_SUPERMARKET")]
    pub supermarket: Option<String>,
    /// This till's id, on every sale and in its receipt numbers (T03-000124): 1-32 letters,
    /// digits, - or _ [default: the host name, made an id].
    #[arg(long, value_name = "ID", env = "ICASH_TILL")]
    pub till: Option<String>,
    /// The till's journal of sales (each till needs its own) [default:
    /// <ICASH_HOME or data dir>/pos-journal.jsonl].
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Print each receipt by running this shell command with the receipt on its standard input
    /// (e.g. 'lp -d receipt'). A printer that fails is said on screen; the sale stays recorded.
    #[arg(long, value_name = "COMMAND", conflicts_with = "receipt_file")]
    pub receipt_command: Option<String>,
    /// Print each receipt by appending it to this file or device (e.g. /dev/usb/lp0).
    #[arg(long, value_name = "PATH")]
    pub receipt_file: Option<PathBuf>,
    /// The receipt printer's columns: 42 or 48 [default: 42].
    #[arg(long, value_name = "COLUMNS")]
    pub receipt_width: Option<u16>,
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
        Entry {
            name: "NO_COLOR",
            text: "Set and not empty: no colours (only bold, reverse and dim).",
        },
    ],
    files: &[
        entries::CONFIG_FILE,
        entries::DATABASE_HOME,
        Entry {
            name: "$ICASH_HOME/pos-journal.jsonl",
            text: "The till's journal of sales (unless --journal names another): every sale is \
                   written and fsynced here before it is sent. Each till needs its own.",
        },
        Entry {
            name: "$ICASH_HOME/pos-journal.roster.json",
            text: "Beside the journal (its name with .roster.json): the cashiers last loaded from \
                   the database, with their PIN hashes (mode 0600), so that a till started \
                   offline can still sign in the cashiers it has seen.",
        },
        Entry {
            name: "$ICASH_HOME/pos-journal.catalog.json",
            text: "Beside the journal (its name with .catalog.json): the branches and products \
                   of the last catalog loaded from the database and when (mode 0600), so that \
                   a till started offline can still sell; unreadable, it is ignored (logged).",
        },
        Entry {
            name: "$ICASH_HOME/logs/pos-tui.log.YYYY-MM-DD",
            text: "The log, rotated daily, seven days kept; never written to the screen.",
        },
    ],
};
