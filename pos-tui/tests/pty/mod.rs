//! The real binary in an 80x24 pseudo-terminal (`store_testkit::pty`), started as a till.
#![allow(dead_code)]

use std::time::Duration;

use store_testkit::pty::{CommandBuilder, ExitStatus, Terminal};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(20);

/// pos-tui in a pseudo-terminal: the harness's `Terminal` (screen, keys, child), with waits
/// bounded by `WAIT`.
pub struct Till(Terminal);

impl Till {
    /// pos-tui on `database_url`, with `ICASH_HOME` = `home` (logs, default journal), no
    /// configuration file, and `extra` arguments.
    pub fn start(database_url: &str, home: &std::path::Path, extra: &[&str]) -> Till {
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pos-tui"));
        cmd.args(["--database-url", database_url]);
        cmd.args(extra);
        cmd.env("ICASH_HOME", home);
        cmd.env("ICASH_CONFIG", home.join("no-config.toml"));
        cmd.env_remove("ICASH_SUPERMARKET");
        cmd.env_remove("ICASH_TILL");
        cmd.env_remove("DATABASE_URL");
        cmd.env_remove("NO_COLOR");
        Till(Terminal::spawn(cmd))
    }

    /// Waits until `text` is on the screen; fails with the screen after `WAIT`.
    pub fn wait_for(&mut self, text: &str) -> String {
        self.0.wait_for(text, WAIT)
    }

    /// Waits (bounded by `WAIT`) for the program to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.0.wait_exit(WAIT)
    }
}

impl std::ops::Deref for Till {
    type Target = Terminal;
    fn deref(&self) -> &Terminal {
        &self.0
    }
}

impl std::ops::DerefMut for Till {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.0
    }
}

/// The first UUID after `label` on the screen.
pub fn uuid_after(screen: &str, label: &str) -> Uuid {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} on the screen:\n{screen}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    let id = rest.split_whitespace().next().unwrap_or_default();
    Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?} after {label:?}: {e}\n{screen}"))
}
