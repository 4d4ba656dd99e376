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

/// A clap value parser for a finite number from `min` to `max` inclusive: refuses what is not a
/// number, NaN, infinities and anything out of range, with a message that gives the range.
pub fn finite_in_range(
    min: f64,
    max: f64,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number"))?;
        if !value.is_finite() || value < min || value > max {
            return Err(format!(
                "{text} is out of range: give a number from {min} to {max}"
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::finite_in_range;

    #[test]
    fn finite_in_range_takes_the_range_and_refuses_the_rest() {
        let parse = finite_in_range(0.5, 3600.0);
        assert_eq!(parse("0.5"), Ok(0.5));
        assert_eq!(parse("3600"), Ok(3600.0));
        assert_eq!(parse(" 4 "), Ok(4.0));
        for bad in [
            "1e300", "1e-300", "inf", "-inf", "NaN", "-1", "0", "0.49", "3600.1", "",
        ] {
            let refused = parse(bad).expect_err(bad);
            assert!(
                refused.contains("from 0.5 to 3600") || refused.contains("is not a number"),
                "{bad}: {refused}"
            );
        }
        assert_eq!(parse("five"), Err("\"five\" is not a number".into()));
    }
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
            return Some(std::process::ExitCode::SUCCESS);
        }
        if self.man {
            let name = command.get_name().to_string();
            return Some(match print_man_page(command) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{name}: {e}");
                    std::process::ExitCode::FAILURE
                }
            });
        }
        None
    }
}
