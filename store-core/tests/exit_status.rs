//! The exit statuses of `icash_cli::ExitStatus`, as `store-core` uses them: a malformed
//! connection string on the command line is a usage error (2, as clap's own), the same string
//! in the configuration file a failure naming the file (1).

use std::process::{Command, Output};

fn store_core(config: &std::path::Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_store-core"));
    command
        .args(args)
        .env("ICASH_HOME", config.parent().unwrap())
        .env("ICASH_CONFIG", config)
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("running store-core")
}

#[test]
fn a_malformed_url_is_a_usage_error_on_the_command_line_and_a_failure_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let out = store_core(&config, Some("postgresql://a@b:notaport/c"), &["catalog"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid database connection string"),
        "{out:?}"
    );

    std::fs::write(&config, "database_url = \"postgresql://a@b:notaport/c\"\n").unwrap();
    let out = store_core(&config, None, &["catalog"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let out = store_core(&config, None, &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn analytics_refuses_a_zero_threshold_in_the_file_as_the_dashboard_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "min_purchases = 0\n").unwrap();
    let out = store_core(&config, None, &["analytics"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: min_purchases = 0: it must be at least 1",
            config.display()
        )),
        "{stderr}"
    );
}

#[test]
fn commands_without_a_database_work_whatever_the_configuration_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "refresh_secs = 0\nnot toml at all [\n").unwrap();
    for args in [&["man"][..], &["completions", "bash"], &["db", "url"]] {
        let out = store_core(&config, None, args);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains(&config.display().to_string()),
            "{args:?} read the configuration file: {out:?}"
        );
    }
    let out = store_core(&config, None, &["man"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // A command that uses the database still reads it, and names it.
    let out = store_core(&config, None, &["catalog"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&config.display().to_string()),
        "{out:?}"
    );
}
