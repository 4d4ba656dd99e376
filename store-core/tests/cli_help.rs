//! The command line's own documentation: man pages for every command with ENVIRONMENT, FILES
//! and EXIT STATUS, and `--database-url` only where a database is used.

use std::process::{Command, Output};

fn store_core(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(args)
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("config.toml"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("running store-core")
}

fn assert_complete(name: &str, page: &str) {
    for heading in [".SH ENVIRONMENT", ".SH FILES", ".SH \"EXIT STATUS\""] {
        assert!(page.contains(heading), "{name}: no {heading}\n{page}");
    }
    for status in icash_cli::ExitStatus::all() {
        assert!(
            page.contains(&format!("\\fB{}\\fR", status.code())),
            "{name}: exit status {status:?}\n{page}"
        );
    }
    for wanted in ["ICASH_HOME", "ICASH_CONFIG", "RUST_LOG", "config.toml"] {
        assert!(page.contains(wanted), "{name}: {wanted}\n{page}");
    }
}

#[test]
fn man_prints_the_main_page_with_every_section() {
    let out = store_core(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") && page.contains(".TH store-core 1"),
        "{page}"
    );
    assert_complete("store-core.1", &page);
    for wanted in [
        "DATABASE_URL",
        "PGHOST",
        "MIN_PURCHASES",
        "ICASH_CLERK_PASSWORD",
    ] {
        assert!(page.contains(wanted), "{wanted}\n{page}");
    }
}

#[test]
fn man_dir_writes_a_complete_page_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = store_core(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = [
        "",
        "-analytics",
        "-bench",
        "-branch",
        "-branch-add",
        "-branch-list",
        "-branch-rename",
        "-cashier",
        "-cashier-add",
        "-cashier-list",
        "-cashier-retire",
        "-catalog",
        "-completions",
        "-db",
        "-db-start",
        "-db-status",
        "-db-stop",
        "-db-url",
        "-fold",
        "-generate",
        "-journal",
        "-journal-export",
        "-journal-list",
        "-journal-resend",
        "-man",
        "-migrate",
        "-product",
        "-product-add",
        "-product-list",
        "-product-price",
        "-product-restore",
        "-product-retire",
        "-purchase",
        "-report",
        "-report-shift",
        "-roles",
        "-seed",
        "-serve",
        "-simulate",
    ]
    .iter()
    .map(|c| format!("store-core{c}.1"))
    .collect();
    expected.sort();
    assert_eq!(pages, expected);
    for name in &pages {
        let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_complete(name, &page);
    }
    let environment = |name: &str| {
        let page = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let start = page.find(".SH ENVIRONMENT").unwrap();
        let end = start + page[start..].find(".SH FILES").unwrap();
        page[start..end].to_string()
    };
    assert!(environment("store-core-seed.1").contains("DATABASE_URL"));
    for variable in [
        "ICASH_API_CLERK_TOKEN",
        "ICASH_API_OWNER_TOKEN",
        "ICASH_API_LISTEN",
        "ICASH_API_OWNER_DATABASE_URL",
    ] {
        assert!(
            environment("store-core-serve.1").contains(variable),
            "{variable}"
        );
    }
    assert!(environment("store-core-journal-resend.1").contains("PGHOST"));
    assert!(!environment("store-core-generate.1").contains("DATABASE_URL"));
    assert!(!environment("store-core-db-status.1").contains("DATABASE_URL"));
}

#[test]
fn database_url_is_refused_by_the_commands_that_use_no_database() {
    // (Were the flag taken, generate would fail on its directory: exit status 1, not 2.)
    for args in [
        &["generate", "--out", "/nonexistent/dir"][..],
        &["db", "status"],
        &["man"],
        &["journal", "list", "--journal", "x"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--database-url", "postgresql://nobody@nowhere/icash"]);
        let out = store_core(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--database-url"),
            "{args:?}: {out:?}"
        );
    }
    // Where a database is used, the flag is taken (here: parsed, then --help).
    let out = store_core(&[
        "seed",
        "--database-url",
        "postgresql://nobody@nowhere/icash",
        "--help",
    ]);
    assert!(out.status.success(), "{out:?}");
}
