//! The command line's own documentation: a help line for every option, and a man page with
//! ENVIRONMENT, FILES and EXIT STATUS.

use std::process::Command;

#[test]
fn every_option_has_a_help_line() {
    use clap::CommandFactory;
    let undocumented = icash_cli::docs::undocumented(pos_tui::cli::Args::command());
    assert!(undocumented.is_empty(), "without help: {undocumented:?}");
}

#[test]
fn the_man_page_has_environment_files_and_exit_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_pos-tui"))
        .arg("--man")
        .env_remove("DATABASE_URL")
        .output()
        .expect("running pos-tui");
    assert!(out.status.success(), "{out:?}");
    let man = String::from_utf8_lossy(&out.stdout);
    for wanted in [
        ".TH pos-tui 1",
        ".SH ENVIRONMENT",
        "DATABASE_URL",
        "PGHOST",
        "ICASH_SUPERMARKET",
        "ICASH_HOME",
        "ICASH_CONFIG",
        "RUST_LOG",
        "NO_COLOR",
        ".SH FILES",
        "config.toml",
        "pos\\-journal.jsonl",
        "pos\\-tui.log",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(man.contains(wanted), "{wanted}:\n{man}");
    }
    for status in icash_cli::ExitStatus::all() {
        assert!(man.contains(&format!("\\fB{}\\fR", status.code())), "{man}");
    }
}
