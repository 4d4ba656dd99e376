//! The dashboard pointed at a server that refuses its role or password ends at once with the
//! server's reason, instead of showing "connecting" and retrying forever.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use store_testkit::PasswordServer;

#[test]
fn a_wrong_password_ends_the_dashboard_at_once_with_the_reason() {
    let server = PasswordServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = server.url("postgres", "not-the-password", "postgres");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
    cmd.args(["--database-url", &url]);
    cmd.env("ICASH_HOME", home.path());
    cmd.env("ICASH_CONFIG", home.path().join("none.toml"));
    cmd.env_remove("DATABASE_URL");
    cmd.env("TERM", "xterm-256color");
    cmd.env("NO_COLOR", "1");
    cmd.cwd(home.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let sink = output.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    // Far beyond an immediate answer, far below "retrying forever".
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("owner-tui was still running after 60 s: it retried the refusal");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    // The last words may still be on their way through the terminal.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
        if text.contains("password authentication failed") && text.contains("role \"postgres\"") {
            break;
        }
        assert!(Instant::now() < until, "no reason on the terminal: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
