//! What every program's command line offers around its own options: shell completions and a
//! man page, both generated from the program's clap definition.

use std::io::Write;

pub use clap_complete::Shell;

/// Writes the completion script for `shell` to standard output.
pub fn print_completions(mut command: clap::Command, shell: Shell) {
    let name = command.get_name().to_string();
    clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
}

/// Writes the program's man page (roff) to standard output.
pub fn print_man_page(command: clap::Command) -> std::io::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command).render(&mut out)?;
    std::io::stdout().write_all(&out)
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
    pub fn handle(&self, command: clap::Command) -> Option<std::process::ExitCode> {
        if let Some(shell) = self.completions {
            print_completions(command, shell);
            return Some(crate::ExitStatus::Success.into());
        }
        if self.man {
            let name = command.get_name().to_string();
            return Some(match print_man_page(command) {
                Ok(()) => crate::ExitStatus::Success.into(),
                Err(e) => {
                    eprintln!("{name}: {e}");
                    crate::ExitStatus::Failure.into()
                }
            });
        }
        None
    }
}
