//! The command line before any screen: `--version`, and configuration errors that stop the
//! program with a clear message (exit 1) before it takes the terminal over.

use std::process::{Command, Output};

fn owner_tui(config: &std::path::Path, args: &[&str]) -> Output {
    let home = config.parent().unwrap();
    Command::new(env!("CARGO_BIN_EXE_owner-tui"))
        .args(args)
        .env("ICASH_HOME", home)
        .env("ICASH_CONFIG", config)
        .env_remove("DATABASE_URL")
        .env_remove("MIN_PURCHASES")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running owner-tui")
}

#[test]
fn version_prints_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = owner_tui(&dir.path().join("config.toml"), &["--version"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("owner-tui {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_malformed_config_file_is_a_clear_error_before_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "min_purchases = 4\nrefresh = 5\n").unwrap();
    let out = owner_tui(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2:", config.display())),
        "the file and line: {stderr}"
    );
    // Nothing was drawn: the terminal was never taken over.
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn out_of_range_values_in_the_config_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "refresh_secs = 0\n").unwrap();
    let out = owner_tui(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refresh_secs") && stderr.contains(&config.display().to_string()),
        "{stderr}"
    );

    std::fs::write(&config, "database_url = \"postgresql://a@b:notaport/c\"\n").unwrap();
    let out = owner_tui(&config, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("database_url"), "{stderr}");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let dir = tempfile::tempdir().unwrap();
    let out = owner_tui(&dir.path().join("config.toml"), &["--completions", "fish"]);
    assert!(out.status.success());
    let fish = String::from_utf8_lossy(&out.stdout);
    assert!(
        fish.contains("min-purchases") && fish.contains("export-dir"),
        "{fish}"
    );
    let out = owner_tui(&dir.path().join("config.toml"), &["--man"]);
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.contains(".TH owner-tui 1") && man.contains("refresh"),
        "{man}"
    );
}

#[test]
fn the_compose_file_runs_a_command_owner_tui_accepts() {
    store_testkit::assert_compose_command_accepted(
        "owner",
        "owner-tui",
        env!("CARGO_BIN_EXE_owner-tui"),
    );
}

#[test]
fn every_option_has_a_help_line() {
    use clap::CommandFactory;
    let undocumented = icash_cli::docs::undocumented(owner_tui::cli::Args::command());
    assert!(undocumented.is_empty(), "without help: {undocumented:?}");
}

#[test]
fn the_man_page_has_environment_files_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = owner_tui(&dir.path().join("config.toml"), &["--man"]);
    assert!(out.status.success(), "{out:?}");
    let man = String::from_utf8_lossy(&out.stdout);
    for wanted in [
        ".SH ENVIRONMENT",
        "DATABASE_URL",
        "PGHOST",
        "MIN_PURCHASES",
        "ICASH_HOME",
        "ICASH_CONFIG",
        "RUST_LOG",
        ".SH FILES",
        "config.toml",
        "owner\\-tui.log",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(man.contains(wanted), "{wanted}:\n{man}");
    }
    for status in icash_cli::ExitStatus::all() {
        assert!(man.contains(&format!("\\fB{}\\fR", status.code())), "{man}");
    }
}
