//! A till pointed at a server that refuses its role or password stops at once with the
//! server's reason, instead of opening and retrying as if the database were away.

use std::io::Read;
use std::time::{Duration, Instant};

use store_testkit::PasswordServer;

#[test]
fn a_wrong_password_stops_the_till_at_once_with_the_reason() {
    let server = PasswordServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = server.url("postgres", "not-the-password", "postgres");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
        .args(["--database-url", &url, "--supermarket", "SMKT001"])
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("none.toml"))
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Far beyond an immediate answer, far below "retrying forever".
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("pos-tui was still running after 60 s: it retried the refusal");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("password authentication failed") && stderr.contains("role \"postgres\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("retrying") && !stderr.contains("cannot reach"),
        "the refusal was taken for an unreachable server: {stderr}"
    );
}
