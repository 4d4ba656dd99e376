//! Connection errors that say what is wrong, at once: a server that refuses the role, the
//! password or the database is an immediate error naming them (never retried as
//! "unreachable"), a server that does not speak PostgreSQL is named as such, and only transport
//! failures are retried, with the time really spent in the message.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use store_core::{ConnectOptions, Error, Store};
use store_testkit::PasswordServer;

const ROLE: &str = "icash_pw";
const PASSWORD: &str = "right-password";
const NOLOGIN_ROLE: &str = "icash_nologin";
/// A database that PUBLIC may not connect to.
const CLOSED_DB: &str = "icash_closed";

/// Far longer than any test runs: an error that comes back at all was not waited for.
const LONG_WAIT: Duration = Duration::from_secs(3600);
/// The bound that keeps a test finite if the program waits after all.
const TEST_BOUND: Duration = Duration::from_secs(60);

fn server() -> &'static PasswordServer {
    static SERVER: OnceLock<PasswordServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = PasswordServer::start();
        std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        let admin = server.admin().await;
                        for statement in [
                            format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'"),
                            format!("CREATE ROLE {NOLOGIN_ROLE} NOLOGIN PASSWORD '{PASSWORD}'"),
                            format!("CREATE DATABASE {CLOSED_DB}"),
                            format!("REVOKE CONNECT ON DATABASE {CLOSED_DB} FROM PUBLIC"),
                        ] {
                            admin
                                .batch_execute(&statement)
                                .await
                                .unwrap_or_else(|e| panic!("{statement}: {e}"));
                        }
                    })
            })
            .join()
            .unwrap()
        });
        server
    })
}

fn options(url: String, wait: Duration) -> ConnectOptions {
    ConnectOptions {
        database_url: Some(url),
        wait,
        max_size: 2,
        ..ConnectOptions::default()
    }
}

/// Connects with `wait` and returns the error, failing the test if it connects or if the
/// answer takes longer than the test's bound.
async fn connect_error(url: String, wait: Duration) -> Error {
    match tokio::time::timeout(TEST_BOUND, Store::connect(&options(url, wait))).await {
        Err(_) => panic!("still trying after {TEST_BOUND:?}: the error was retried"),
        Ok(Ok(_)) => panic!("connected although it should not have"),
        Ok(Err(e)) => e,
    }
}

fn assert_rejected(e: &Error, role: &str, database: &str, says: &str) {
    let text = e.to_string();
    assert!(
        matches!(e, Error::Rejected { .. }),
        "not a rejection: {text}"
    );
    assert!(
        !e.is_connection_problem(),
        "a rejection must not be retried: {text}"
    );
    let target = format!("127.0.0.1:{}", server().port);
    for part in [
        format!("role \"{role}\""),
        format!("database \"{database}\""),
        target,
        says.to_string(),
    ] {
        assert!(text.contains(&part), "{part:?} missing from: {text}");
    }
}

#[tokio::test]
async fn the_right_password_connects() {
    let url = server().url(ROLE, PASSWORD, "postgres");
    Store::connect(&options(url, Duration::ZERO))
        .await
        .expect("the right password connects");
}

#[tokio::test]
async fn a_wrong_password_is_an_immediate_error_naming_role_database_and_server() {
    let url = server().url(ROLE, "wrong", "postgres");
    let e = connect_error(url, LONG_WAIT).await;
    assert_rejected(&e, ROLE, "postgres", "password authentication failed");
    assert!(e.to_string().contains("28P01"), "{e}");
}

#[tokio::test]
async fn an_unknown_role_is_an_immediate_error() {
    let url = server().url("nobody_here", PASSWORD, "postgres");
    let e = connect_error(url, LONG_WAIT).await;
    assert_rejected(&e, "nobody_here", "postgres", "authentication failed");
}

#[tokio::test]
async fn a_missing_database_is_an_immediate_error() {
    let url = server().url(ROLE, PASSWORD, "no_such_db");
    let e = connect_error(url, LONG_WAIT).await;
    assert_rejected(&e, ROLE, "no_such_db", "does not exist");
    assert!(e.to_string().contains("3D000"), "{e}");
}

#[tokio::test]
async fn a_role_without_login_is_an_immediate_error() {
    let url = server().url(NOLOGIN_ROLE, PASSWORD, "postgres");
    let e = connect_error(url, LONG_WAIT).await;
    assert_rejected(&e, NOLOGIN_ROLE, "postgres", "not permitted to log in");
    assert!(e.to_string().contains("28000"), "{e}");
}

#[tokio::test]
async fn a_database_without_the_connect_right_is_an_immediate_error() {
    let url = server().url(ROLE, PASSWORD, CLOSED_DB);
    let e = connect_error(url, LONG_WAIT).await;
    assert_rejected(&e, ROLE, CLOSED_DB, "permission denied");
    assert!(e.to_string().contains("42501"), "{e}");
}

#[test]
fn seed_with_a_long_wait_fails_at_once_on_a_wrong_password() {
    let url = server().url(ROLE, "wrong", "postgres");
    let no_config = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(["seed", "--wait", "3600", "--database-url", &url])
        .env("ICASH_CONFIG", no_config.path().join("none.toml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running store-core");
    let deadline = Instant::now() + TEST_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("seed --wait 3600 was still waiting after {TEST_BOUND:?}");
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
    assert!(!status.success());
    assert!(
        stderr.contains("password authentication failed") && stderr.contains(ROLE),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot reach"), "{stderr}");
}

/// A TCP server on 127.0.0.1 that treats every connection with `answer`, for as long as the
/// test process lives. Returns its port.
fn fake_server(answer: fn(std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    port
}

fn url_for_port(port: u16) -> String {
    format!("postgresql://someone:secret@127.0.0.1:{port}/icash")
}

#[tokio::test]
async fn a_server_that_answers_http_is_named_as_not_postgresql_at_once() {
    let port = fake_server(|mut stream| {
        let mut request = [0u8; 512];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let e = connect_error(url_for_port(port), LONG_WAIT).await;
    assert!(matches!(e, Error::NotPostgres { .. }), "{e}");
    assert!(!e.is_connection_problem());
    let text = e.to_string();
    assert!(
        text.contains("not a PostgreSQL server") && text.contains("HTTP/1.1 400 Bad Request"),
        "{text}"
    );
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
}

#[tokio::test]
async fn a_server_that_closes_at_once_is_retried_and_named_with_the_time_really_spent() {
    let port = fake_server(drop);
    let wait = Duration::from_secs(1);
    let e = connect_error(url_for_port(port), wait).await;
    let text = e.to_string();
    let Error::Unreachable { elapsed, .. } = &e else {
        panic!("not an unreachable error: {text}");
    };
    assert!(e.is_connection_problem(), "{text}");
    assert!(*elapsed >= wait, "gave up before the wait: {text}");
    assert!(
        text.contains(&format!("tried for {:.1} s", elapsed.as_secs_f64())),
        "{text}"
    );
    assert!(text.contains("closed it without a word"), "{text}");
}

#[tokio::test]
async fn a_refused_port_is_a_connection_problem_reported_with_the_real_time() {
    let port = {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let e = connect_error(url_for_port(port), Duration::ZERO).await;
    let text = e.to_string();
    let Error::Unreachable { elapsed, .. } = &e else {
        panic!("not an unreachable error: {text}");
    };
    assert!(e.is_connection_problem(), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(
        text.contains(&format!("tried for {:.1} s", elapsed.as_secs_f64())),
        "{text}"
    );
}

/// A column that does not decode is the program's mistake, not a lost connection (which would
/// be answered "unavailable, try again" forever); a refused connection still is one.
#[tokio::test]
async fn a_value_that_does_not_decode_is_not_a_lost_connection() {
    let db = store_testkit::fresh_db().await;
    let client = db.store.client().await.unwrap();
    let row = client.query_one("SELECT 'x'::text", &[]).await.unwrap();
    let decode = row.try_get::<_, i32>(0).unwrap_err();
    assert!(!store_core::error::is_connection_error(&decode), "{decode}");
    // The connection is still good.
    client.query_one("SELECT 1", &[]).await.unwrap();

    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(closed_port)
        .user("nobody")
        .dbname("nothing")
        .connect_timeout(Duration::from_secs(5));
    let refused = tokio::time::timeout(TEST_BOUND, config.connect(tokio_postgres::NoTls))
        .await
        .expect("a refused connection comes back")
        .map(|_| ())
        .unwrap_err();
    assert!(
        store_core::error::is_connection_error(&refused),
        "{refused}"
    );
}

/// A first host that drops the connection's packets (a partition) leaves time for the second:
/// each address gets its own short timeout, and the attempt as a whole has time for all of
/// them. The blackhole is a listener whose queue of one is full: the kernel ignores the SYN.
#[tokio::test]
async fn a_blackholed_first_host_leaves_time_for_the_second() {
    let blackhole = tokio::net::TcpSocket::new_v4().unwrap();
    blackhole.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = blackhole.local_addr().unwrap();
    let blackhole = blackhole.listen(0).unwrap();
    let _queued = tokio::net::TcpStream::connect(address).await.unwrap();
    let ignored = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(address),
    )
    .await;
    assert!(ignored.is_err(), "the blackhole answered: {ignored:?}");

    let real = server().url(ROLE, PASSWORD, "postgres");
    let real_host = real.split('@').nth(1).unwrap();
    let both = format!(
        "postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{},{real_host}",
        address.port()
    );
    let store = tokio::time::timeout(TEST_BOUND, Store::connect(&options(both, Duration::ZERO)))
        .await
        .expect("the attempt is bounded")
        .unwrap_or_else(|e| panic!("{e}"));
    let port: String = store
        .client()
        .await
        .unwrap()
        .query_one("SHOW port", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(real_host, format!("127.0.0.1:{port}/postgres"));
    drop(blackhole);
}
