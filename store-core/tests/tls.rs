//! TLS to the database, against a throwaway server with `ssl = on` and a self-signed
//! certificate for `localhost`.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use store_core::db::live::{self, LISTENING};
use store_core::db::store::connect_one;
use store_core::db::target::{DbTarget, parse_connect_settings};
use store_core::{ConnectOptions, Store};
use store_testkit::TlsServer;
use tokio::sync::mpsc;

struct Fixture {
    server: TlsServer,
    /// The server's own (self-signed) certificate: the right root.
    right_root: PathBuf,
    /// Another self-signed certificate for `localhost`: the wrong root.
    wrong_root: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let server_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("a certificate");
        let other_cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("a certificate");
        let server = TlsServer::start(
            &server_cert.cert.pem(),
            &server_cert.signing_key.serialize_pem(),
        );
        let dir = tempfile::tempdir().expect("a directory").keep();
        let right_root = dir.join("right.crt");
        let wrong_root = dir.join("wrong.crt");
        std::fs::write(&right_root, server_cert.cert.pem()).unwrap();
        std::fs::write(&wrong_root, other_cert.cert.pem()).unwrap();
        Fixture {
            server,
            right_root,
            wrong_root,
        }
    })
}

fn options(url: String) -> ConnectOptions {
    ConnectOptions {
        database_url: Some(url),
        max_size: 2,
        ..ConnectOptions::default()
    }
}

const IS_ENCRYPTED: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

async fn encrypted(store: &Store) -> bool {
    store
        .client()
        .await
        .expect("a connection")
        .query_one(IS_ENCRYPTED, &[])
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

async fn connect(url: String) -> Store {
    Store::connect(&options(url))
        .await
        .unwrap_or_else(|e| panic!("connecting: {e}"))
}

async fn connect_err(url: String) -> String {
    match Store::connect(&options(url)).await {
        Ok(_) => panic!("connected although it should not have"),
        Err(e) => e.to_string(),
    }
}

/// Runs `live::listen` until it is listening (Ok) or fails (its error).
async fn listen_once(store: &Store) -> Result<(), String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let settings = store.config().clone();
    let listener = tokio::spawn(async move { live::listen(&settings, &["icash_test"], tx).await });
    let outcome = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("listen answered within 30 s");
    match outcome {
        Some(notice) => {
            assert_eq!(notice.channel, LISTENING);
            drop(rx);
            listener.abort();
            Ok(())
        }
        None => Err(listener
            .await
            .expect("the listener task")
            .expect_err("no notice means an error")
            .to_string()),
    }
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    let f = fixture();
    let store = connect(f.server.url("127.0.0.1", "postgres", "sslmode=require")).await;
    assert!(encrypted(&store).await);
}

#[tokio::test]
async fn prefer_is_the_default_and_encrypts_when_the_server_offers_tls() {
    let f = fixture();
    let store = connect(f.server.url("localhost", "postgres", "application_name=t")).await;
    assert!(encrypted(&store).await);
}

#[tokio::test]
async fn disable_connects_unencrypted() {
    let f = fixture();
    let store = connect(f.server.url("localhost", "postgres", "sslmode=disable")).await;
    assert!(!encrypted(&store).await);
}

#[tokio::test]
async fn verify_full_with_the_right_root_connects_encrypted_everywhere() {
    let f = fixture();
    let url = f.server.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", f.right_root.display()),
    );
    let store = connect(url).await;
    assert!(encrypted(&store).await);
    // Connections outside the pool use the same settings.
    let one = connect_one(store.config()).await.expect("connect_one");
    let row = one.query_one(IS_ENCRYPTED, &[]).await.unwrap();
    assert!(row.get::<_, bool>(0));
    listen_once(&store).await.expect("listening over TLS");
}

#[tokio::test]
async fn verify_full_in_key_value_form() {
    let f = fixture();
    let url = format!(
        "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{}'",
        f.server.port,
        f.right_root.display()
    );
    let store = connect(url).await;
    assert!(encrypted(&store).await);
}

#[tokio::test]
async fn verify_full_with_the_wrong_root_is_refused_by_every_connection() {
    let f = fixture();
    let url = f.server.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", f.wrong_root.display()),
    );
    let err = connect_err(url.clone()).await;
    assert!(err.contains("certificate"), "{err}");

    // A store configured so (without connecting), its LISTEN and dedicated connections too.
    let DbTarget::Server(settings) = DbTarget::resolve(Some(&url)).unwrap() else {
        panic!("a server target");
    };
    let store = Store::from_settings(*settings, "wrong root".into(), 1).unwrap();
    let err = match connect_one(store.config()).await {
        Ok(_) => panic!("connect_one connected with the wrong root"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("certificate"), "{err}");
    let err = listen_once(&store)
        .await
        .expect_err("listen connected with the wrong root");
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let f = fixture();
    let root = format!("sslrootcert={}", f.right_root.display());
    // The certificate is for localhost, not 127.0.0.1.
    let err = connect_err(f.server.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-full&{root}"),
    ))
    .await;
    assert!(err.contains("certificate"), "{err}");
    let store = connect(f.server.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-ca&{root}"),
    ))
    .await;
    assert!(encrypted(&store).await);
    // verify-ca still checks the chain.
    let err = connect_err(f.server.url(
        "127.0.0.1",
        "postgres",
        &format!("sslmode=verify-ca&sslrootcert={}", f.wrong_root.display()),
    ))
    .await;
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn a_missing_root_certificate_file_is_named() {
    let f = fixture();
    let err = connect_err(f.server.url(
        "localhost",
        "postgres",
        "sslmode=verify-full&sslrootcert=/nonexistent/icash/root.crt",
    ))
    .await;
    assert!(err.contains("/nonexistent/icash/root.crt"), "{err}");
}

#[tokio::test]
async fn passwords_never_appear_in_errors() {
    const SECRET: &str = "Sup3rSecretPw";
    let f = fixture();
    let bad = [
        format!("postgresql://postgres:{SECRET}@localhost:notaport/postgres"),
        format!("postgresql://postgres:{SECRET}@localhost/postgres?sslmode=bogus"),
        format!("postgresql://postgres@localhost/postgres?password={SECRET}&nosuch=1"),
        format!("host=localhost password={SECRET} port=notaport"),
        format!("host=localhost password='{SECRET}' sslmode=verify_full"),
        format!("host=localhost password='{SECRET} dbname=x"),
        format!("host=localhost password={SECRET} dbname"),
    ];
    for url in bad {
        let err = DbTarget::resolve(Some(&url))
            .err()
            .unwrap_or_else(|| panic!("{url} should not parse"))
            .to_string();
        assert!(!err.contains(SECRET), "{err}");
        let err = connect_err(url).await;
        assert!(!err.contains(SECRET), "{err}");
    }
    // A good string whose server is not there: the error names the server, not the password.
    let closed_port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres:{SECRET}@127.0.0.1:{closed_port}/postgres");
    let err = connect_err(url).await;
    assert!(err.contains("cannot reach"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    // And the right password still reaches the server (trust authentication ignores it).
    let settings = parse_connect_settings(&f.server.url(
        "localhost",
        "postgres",
        &format!("password={SECRET}&sslmode=require"),
    ))
    .unwrap();
    assert_eq!(settings.get_password(), Some(SECRET.as_bytes()));
    assert!(!format!("{settings:?}").contains(SECRET));
}
