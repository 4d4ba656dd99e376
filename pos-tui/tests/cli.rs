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

#[test]
fn the_help_names_the_receipt_printer_and_a_bad_printer_setting_is_refused() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pos-tui"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("ICASH_CONFIG", "/nonexistent/icash-config.toml")
            .output()
            .expect("running pos-tui")
    };
    let help = run(&["--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for wanted in [
        "--receipt-command <COMMAND>",
        "--receipt-file <PATH>",
        "--receipt-width <COLUMNS>",
        "lp -d receipt",
        "receipt_command",
    ] {
        assert!(text.contains(wanted), "{wanted}:\n{text}");
    }
    // Both printers: a usage error (2) before anything starts.
    let both = run(&["--receipt-command", "cat", "--receipt-file", "/tmp/r"]);
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    // A width that is not 42 or 48: said, exit 1, before the screen opens.
    let wide = run(&["--receipt-width", "45"]);
    assert_eq!(wide.status.code(), Some(1), "{wide:?}");
    assert!(
        String::from_utf8_lossy(&wide.stderr).contains("receipt_width = 45: a receipt is 42 or 48"),
        "{wide:?}"
    );
}
