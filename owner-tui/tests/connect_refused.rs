//! The dashboard pointed at a server that refuses its role or password ends at once with the
//! server's reason, instead of showing "connecting" and retrying forever.

use std::time::Duration;

use store_testkit::PasswordServer;
use store_testkit::pty::{CommandBuilder, Terminal};

#[test]
fn a_wrong_password_ends_the_dashboard_at_once_with_the_reason() {
    let server = PasswordServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = server.url("postgres", "not-the-password", "postgres");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
    cmd.args(["--database-url", &url]);
    cmd.env("ICASH_HOME", home.path());
    cmd.env("ICASH_CONFIG", home.path().join("none.toml"));
    cmd.env_remove("DATABASE_URL");
    cmd.env("NO_COLOR", "1");
    cmd.cwd(home.path());
    let mut dashboard = Terminal::spawn(cmd);
    // Far beyond an immediate answer, far below "retrying forever".
    let status = dashboard.wait_exit(Duration::from_secs(60));
    assert!(!status.success());
    // The last words may still be on their way through the terminal.
    assert!(
        dashboard.wrote(Duration::from_secs(10), |text| {
            text.contains("password authentication failed") && text.contains("role \"postgres\"")
        }),
        "no reason on the terminal: {}",
        dashboard.output_text()
    );
}
