//! The embedded default as a user meets it, through the real `store-core` binary: programs
//! started together on a machine with no database yet, the next command after a crash, what
//! `db status` and `db url` answer, and command-line numbers that could never work.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use store_core::db::embedded::{LocalServer, ServerStatus};

/// The bound on any one program run (a first start creates a cluster and loads demo data).
const RUN_BOUND: Duration = Duration::from_secs(120);

/// A fresh `ICASH_HOME` (not yet created) in a directory the `postgres` account can reach; on
/// drop its server, if any, is stopped and the files removed.
struct Home {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::Builder::new()
            .prefix("icash-start-")
            .tempdir_in("/tmp")
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("home");
        Home { dir, path }
    }

    fn server(&self) -> LocalServer {
        LocalServer::new(&self.path).unwrap()
    }

    /// `store-core args...` on this home only: no DATABASE_URL, no PG* variable, no
    /// configuration file.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_store-core"));
        cmd.args(args)
            .env("ICASH_HOME", &self.path)
            .env("ICASH_CONFIG", self.dir.path().join("no-config.toml"))
            .env_remove("DATABASE_URL")
            .env_remove("MIN_PURCHASES")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                cmd.env_remove(name);
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        output_within(self.command(args).spawn().unwrap(), RUN_BOUND)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(server) = LocalServer::new(&self.path) {
            let _ = server.stop(true);
        }
    }
}

/// The child's output, killing it and failing the test if it runs longer than `bound`.
fn output_within(child: Child, bound: Duration) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("the program was still running after {bound:?}");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        text(&output.stderr)
    );
}

/// The analytics answer: the demo data was loaded and the database answers.
fn assert_analytics_answer(output: &Output, what: &str) {
    assert_success(output, what);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", text(&output.stdout)));
    assert!(
        report["unique_buyers"].as_u64().is_some_and(|n| n > 0),
        "{what}: {report}"
    );
}

/// True while `pid` runs (a zombie no longer does).
fn process_runs(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn wait_until_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while process_runs(pid) {
        assert!(Instant::now() < deadline, "process {pid} did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn postmaster_pid(data_dir: &Path) -> i32 {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .expect("postmaster.pid")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("a pid on the first line of postmaster.pid")
}

#[test]
fn six_programs_started_together_on_a_fresh_home_all_succeed() {
    let home = Home::new();
    let children: Vec<Child> = (0..6)
        .map(|_| {
            home.command(&["analytics", "--json"])
                .spawn()
                .expect("starting store-core")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let output = output_within(child, RUN_BOUND);
        assert_analytics_answer(&output, &format!("program {i}"));
    }
    assert_eq!(home.server().status().unwrap(), ServerStatus::Running);
}

#[test]
fn after_the_embedded_server_is_killed_the_next_command_restarts_it() {
    let home = Home::new();
    assert_success(&home.run(&["db", "start"]), "db start");
    let server = home.server();
    let pid = postmaster_pid(&server.data_dir());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until_gone(pid);
    assert_ne!(server.status().unwrap(), ServerStatus::Running);

    assert_analytics_answer(
        &home.run(&["analytics", "--json"]),
        "analytics after the crash",
    );
    assert_eq!(server.status().unwrap(), ServerStatus::Running);
    assert_ne!(postmaster_pid(&server.data_dir()), pid);
}

#[test]
fn db_status_exits_4_never_created_3_stopped_0_running_and_db_url_needs_a_created_server() {
    let home = Home::new();
    let status = home.run(&["db", "status"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status.stdout));
    assert!(text(&status.stdout).contains("not created"));
    assert!(
        !home.path.exists(),
        "asking for the status created the home"
    );

    let url = home.run(&["db", "url"]);
    assert_eq!(url.status.code(), Some(1));
    assert!(url.stdout.is_empty(), "{}", text(&url.stdout));
    let message = text(&url.stderr);
    assert!(
        message.contains("never created") && message.contains(&home.path.display().to_string()),
        "{message}"
    );

    assert_success(&home.run(&["db", "start"]), "db start");
    let status = home.run(&["db", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    assert!(text(&status.stdout).contains("running"));
    let url = home.run(&["db", "url"]);
    assert_success(&url, "db url");
    assert!(text(&url.stdout).starts_with("postgresql://"));

    assert_success(&home.run(&["db", "stop"]), "db stop");
    let status = home.run(&["db", "status"]);
    assert_eq!(status.status.code(), Some(3), "{}", text(&status.stderr));
    assert!(text(&status.stdout).contains("stopped"));

    let help = home.run(&["db", "status", "--help"]);
    assert!(
        text(&help.stdout).contains("3 when it is stopped, 4 when it was never created"),
        "{}",
        text(&help.stdout)
    );
}

#[test]
fn numbers_that_could_never_work_are_refused_by_the_command_line() {
    let home = Home::new();
    for (args, option) in [
        (&["simulate", "--rate", "1e-300"][..], "--rate"),
        (&["simulate", "--rate", "inf"], "--rate"),
        (&["simulate", "--rate", "NaN"], "--rate"),
        (&["simulate", "--rate=-5"], "--rate"),
        (&["simulate", "--rate", "0"], "--rate"),
        (&["simulate", "--returning", "1.5"], "--returning"),
        (&["bench", "--seconds", "1e300"], "--seconds"),
        (&["bench", "--seconds=-1"], "--seconds"),
        (&["bench", "--seconds", "nan"], "--seconds"),
        (&["bench", "--tills", "1,0"], "--tills"),
        (&["bench", "--purchases", "0"], "--purchases"),
    ] {
        let output = home.run(args);
        let message = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(
            message.contains("invalid value") && message.contains(option),
            "{args:?}: {message}"
        );
    }
    assert!(
        !home.path.exists(),
        "a refused command touched the database"
    );
}

/// Starts `cmd`, returns it with its stderr lines as they come.
fn spawn_with_lines(mut cmd: Command) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Reads lines until one starts with `prefix`; returns the rest of it.
fn wait_for_line(
    child: &mut Child,
    lines: &std::sync::mpsc::Receiver<String>,
    prefix: &str,
) -> String {
    let deadline = Instant::now() + RUN_BOUND;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.to_string();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("the program never printed {prefix:?}");
            }
        }
    }
}

fn interrupt(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
}

#[tokio::test]
async fn an_interrupted_bench_on_a_named_server_drops_its_scratch_databases() {
    let db = store_testkit::fresh_db().await;
    let home = Home::new();
    let mut cmd = home.command(&[
        "bench",
        "--purchases",
        "10000",
        "--tills",
        "1",
        "--seconds",
        "0.5",
    ]);
    cmd.arg("--database-url").arg(&db.url);
    let (mut child, lines) = spawn_with_lines(cmd);
    // By then the first scratch database exists.
    wait_for_line(&mut child, &lines, "bench: seeding: store-core seed");
    let pid = child.id();
    interrupt(&child);
    let output = tokio::task::spawn_blocking(move || output_within(child, RUN_BOUND))
        .await
        .unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert_eq!(output.status.code(), Some(1), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("stopped by SIGINT")),
        "{rest:?}"
    );
    let left: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE $1",
            &[&format!("icash_bench_{pid}_%")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the interrupted bench left scratch databases");
}

#[test]
fn an_interrupted_bench_stops_its_server_and_removes_its_files() {
    let home = Home::new();
    let (mut child, rx) = spawn_with_lines(home.command(&[
        "bench",
        "--purchases",
        "10000",
        "--tills",
        "1",
        "--seconds",
        "0.5",
    ]));
    let server_home = PathBuf::from(wait_for_line(
        &mut child,
        &rx,
        "bench: throwaway server in ",
    ));
    let pid = postmaster_pid(&server_home.join("pgdata"));
    assert!(process_runs(pid));

    interrupt(&child);
    let output = output_within(child, RUN_BOUND);
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(output.status.code(), Some(1), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("stopped by SIGINT")),
        "{rest:?}"
    );
    wait_until_gone(pid);
    assert!(
        !server_home.exists(),
        "the bench left {}",
        server_home.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn databases_created_by_many_at_once_without_the_lock_are_created_once_without_error() {
    let server = &store_testkit::server().server;
    for round in 0..20 {
        let name = format!("race_{}_{round}", std::process::id());
        let creators = (0..8).map(|_| {
            let server = server.clone();
            let name = name.clone();
            tokio::spawn(async move {
                store_core::db::bootstrap::create_database_if_missing(&server, &name).await
            })
        });
        let mut created = 0;
        for outcome in futures_util::future::join_all(creators).await {
            match outcome.unwrap() {
                Ok(true) => created += 1,
                Ok(false) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(created, 1, "round {round}");
    }
}
