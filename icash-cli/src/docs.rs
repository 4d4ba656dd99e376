//! What every program's command line offers around its own options: shell completions and man
//! pages, both generated from the program's clap definition. Every man page has ENVIRONMENT,
//! FILES and EXIT STATUS sections: the variables of the page's options come from clap, the
//! exit statuses from [`ExitStatus`], the rest from the program's [`Manual`].

use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;
use roff::{Roff, bold, roman};

use crate::ExitStatus;
use crate::args::DATABASE_URL_ENV;

/// One item of a man page's ENVIRONMENT or FILES section.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub text: &'static str,
}

/// What a program's man pages say beyond its clap definition.
#[derive(Clone, Copy, Debug)]
pub struct Manual {
    /// Variables every page of the program lists after those its options read.
    pub environment: &'static [Entry],
    pub files: &'static [Entry],
}

/// The items the three programs' manuals share.
pub mod entries {
    use super::Entry;

    /// Listed on every page that reads `DATABASE_URL`.
    pub const LIBPQ: Entry = Entry {
        name: "PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGAPPNAME, PGSSLMODE, PGSSLROOTCERT",
        text: "The libpq variables, used when no connection string is given (flag, DATABASE_URL \
               or the configuration file). With none of PGHOST, PGHOSTADDR, PGPORT, PGDATABASE \
               and PGUSER set, the embedded default database is used.",
    };
    pub const ICASH_HOME: Entry = Entry {
        name: "ICASH_HOME",
        text: "The data directory: the embedded database server, its socket and the logs. \
               Default: $XDG_DATA_HOME/icash (~/.local/share/icash); as root /var/lib/icash.",
    };
    pub const ICASH_CONFIG: Entry = Entry {
        name: "ICASH_CONFIG",
        text: "The configuration file. Default: $XDG_CONFIG_HOME/icash/config.toml.",
    };
    pub const XDG: Entry = Entry {
        name: "XDG_DATA_HOME, XDG_CONFIG_HOME, HOME",
        text: "Where the data directory and the configuration file are when ICASH_HOME and \
               ICASH_CONFIG are unset (without HOME: the account's home directory).",
    };
    pub const RUST_LOG_TO_FILE: Entry = Entry {
        name: "RUST_LOG",
        text: "What is logged to the log file (tracing's env-filter syntax). Default: info.",
    };
    pub const RUST_LOG_TO_STDERR: Entry = Entry {
        name: "RUST_LOG",
        text: "What is logged to standard error (tracing's env-filter syntax). Default: warn.",
    };

    pub const CONFIG_FILE: Entry = Entry {
        name: "$ICASH_CONFIG, else $XDG_CONFIG_HOME/icash/config.toml (~/.config/icash/config.toml)",
        text: "The optional configuration file (TOML), shared by the three programs: \
               database_url, supermarket, min_purchases, refresh_secs. A flag wins over its \
               environment variable, which wins over the file.",
    };
    pub const DATABASE_HOME: Entry = Entry {
        name: "$ICASH_HOME, else $XDG_DATA_HOME/icash (as root /var/lib/icash)",
        text: "The embedded default database's home: the server's data directory, its socket \
               directory run/, and the logs.",
    };
}

/// Writes the completion script for `shell` to standard output.
pub fn print_completions(mut command: clap::Command, shell: Shell) {
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
}

/// Writes the program's man page (roff) to standard output.
pub fn print_man_page(command: clap::Command, manual: &Manual) -> std::io::Result<()> {
    std::io::stdout().write_all(&man_page(built(command), manual)?)
}

/// Writes one man page per command into `dir`: `<program>.1`, and `<program>-<command>.1` for
/// each subcommand at every depth (`store-core-db-status.1`). Returns the files written.
pub fn write_man_pages(
    command: clap::Command,
    manual: &Manual,
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    fn write(
        command: &clap::Command,
        manual: &Manual,
        dir: &Path,
        written: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        let name = command
            .get_display_name()
            .unwrap_or_else(|| command.get_name());
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, man_page(command.clone(), manual)?)?;
        written.push(path);
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub, manual, dir, written)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write(&built(command), manual, dir, &mut written)?;
    Ok(written)
}

/// The command as its pages show it: built (so subcommands know their full names), without
/// clap's `help` subcommand, which has no page (`--help` is listed with the options).
fn built(command: clap::Command) -> clap::Command {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
}

/// One command's page: clap_mangen's sections, then ENVIRONMENT, FILES and EXIT STATUS.
fn man_page(command: clap::Command, manual: &Manual) -> std::io::Result<Vec<u8>> {
    let environment = environment(&command, manual);
    let mut roff = Roff::new();
    section(&mut roff, "ENVIRONMENT", environment);
    section(&mut roff, "FILES", items(manual.files));
    section(
        &mut roff,
        "EXIT STATUS",
        ExitStatus::all()
            .iter()
            // Markdown's code quotes mean nothing in a man page.
            .map(|s| (s.code().to_string(), s.meaning().replace('`', ""))),
    );
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    let page = String::from_utf8(page).expect("clap_mangen writes UTF-8");
    // Before VERSION, which clap_mangen puts last (a page without a version: at the end).
    let at = page.find("\n.SH VERSION\n").map_or(page.len(), |i| i + 1);
    Ok(format!("{}{}{}", &page[..at], roff.render(), &page[at..]).into_bytes())
}

fn section<N: AsRef<str>, T: AsRef<str>>(
    roff: &mut Roff,
    title: &str,
    items: impl IntoIterator<Item = (N, T)>,
) {
    roff.control("SH", [title]);
    for (name, text) in items {
        roff.control("TP", []);
        roff.text([bold(name.as_ref())]);
        roff.text([roman(text.as_ref())]);
    }
}

fn items(entries: &[Entry]) -> impl Iterator<Item = (&str, &str)> {
    entries.iter().map(|e| (e.name, e.text))
}

/// The variables the command's options (and its subcommands' options) read, each once, with
/// the libpq variables after DATABASE_URL, then the program's own: (name, text).
fn environment(command: &clap::Command, manual: &Manual) -> Vec<(String, String)> {
    fn collect(command: &clap::Command, found: &mut Vec<(String, String)>) {
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            let Some(name) = arg.get_env().and_then(|n| n.to_str()) else {
                continue;
            };
            if found.iter().any(|(known, _)| known == name) {
                continue;
            }
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            let flag = arg.get_long().map(|l| format!("--{l}")).unwrap_or_default();
            found.push((name.to_string(), format!("Stands for {flag}: {help}")));
            if name == DATABASE_URL_ENV {
                found.push((entries::LIBPQ.name.into(), entries::LIBPQ.text.into()));
            }
        }
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            collect(sub, found);
        }
    }
    let mut found = Vec::new();
    collect(command, &mut found);
    found.extend(items(manual.environment).map(|(n, t)| (n.to_string(), t.to_string())));
    found
}

/// The arguments and subcommands of `command` (at every depth) that have no help text, as
/// `program subcommand --option`; empty when everything is explained.
pub fn undocumented(command: clap::Command) -> Vec<String> {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if command.get_about().is_none() && command.get_long_about().is_none() {
            missing.push(path.to_string());
        }
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                let name = match arg.get_long() {
                    Some(long) => format!("--{long}"),
                    None => format!("<{}>", arg.get_id()),
                };
                missing.push(format!("{path} {name}"));
            }
        }
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let command = built(command);
    let mut missing = Vec::new();
    walk(&command, command.get_name(), &mut missing);
    missing
}

/// `--completions <SHELL>` and `--man`, for a program's arguments (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DocFlags {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long, value_name = "SHELL")]
    pub completions: Option<Shell>,
    /// Print the man page (roff) and exit.
    #[arg(long)]
    pub man: bool,
}

impl DocFlags {
    /// Prints what was asked for and returns the exit code, or None when nothing was.
    pub fn handle(
        &self,
        command: clap::Command,
        manual: &Manual,
    ) -> Option<std::process::ExitCode> {
        if let Some(shell) = self.completions {
            print_completions(command, shell);
            return Some(ExitStatus::Success.into());
        }
        if self.man {
            let name = command.get_name().to_string();
            return Some(match print_man_page(command, manual) {
                Ok(()) => ExitStatus::Success.into(),
                Err(e) => {
                    eprintln!("{name}: {e}");
                    ExitStatus::Failure.into()
                }
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANUAL: Manual = Manual {
        environment: &[entries::ICASH_HOME],
        files: &[entries::CONFIG_FILE],
    };

    #[derive(clap::Parser)]
    #[command(name = "demo", about = "A demo.", version = "1.0")]
    struct Demo {
        #[command(subcommand)]
        command: DemoCommand,
    }

    #[derive(clap::Subcommand)]
    enum DemoCommand {
        /// Uses a database.
        Query {
            #[command(flatten)]
            database: crate::args::DatabaseArgs,
            #[arg(long)]
            json: bool,
        },
        Plain,
    }

    #[test]
    fn undocumented_names_each_argument_and_command_without_help() {
        use clap::CommandFactory;
        assert_eq!(
            undocumented(Demo::command()),
            ["demo query --json", "demo plain"]
        );
    }

    #[test]
    fn every_page_has_environment_files_and_exit_status_and_the_variables_of_its_options() {
        use clap::CommandFactory;
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let written = write_man_pages(Demo::command(), &MANUAL, dir).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["demo.1", "demo-query.1", "demo-plain.1"]);
        for path in &written {
            let page = std::fs::read_to_string(path).unwrap();
            for heading in [".SH ENVIRONMENT", ".SH FILES", ".SH \"EXIT STATUS\""] {
                assert!(
                    page.contains(heading),
                    "{}: {heading}\n{page}",
                    path.display()
                );
            }
            for status in ExitStatus::all() {
                assert!(
                    page.contains(&format!("\\fB{}\\fR", status.code())),
                    "{page}"
                );
            }
            assert!(page.contains("ICASH_HOME"), "{page}");
        }
        let environment = |page: &str| {
            let page = std::fs::read_to_string(dir.join(page)).unwrap();
            let start = page.find(".SH ENVIRONMENT").unwrap();
            let end = start + page[start..].find(".SH FILES").unwrap();
            page[start..end].to_string()
        };
        for page in ["demo.1", "demo-query.1"] {
            let listed = environment(page);
            assert!(
                listed.contains("DATABASE_URL") && listed.contains("PGHOST"),
                "{page}: {listed}"
            );
        }
        let listed = environment("demo-plain.1");
        assert!(!listed.contains("DATABASE_URL"), "{listed}");
        let main = std::fs::read_to_string(dir.join("demo.1")).unwrap();
        assert!(main.contains("demo\\-query(1)"), "{main}");
    }
}
