//! Fault test: the link to the database silently stops carrying packets (a proxy that stalls,
//! sockets open, no reset). The till notices within seconds and says RECONNECTING, sells
//! offline (the sale is saved in its journal), and when the link carries packets again it says
//! "connected" and the queued sale reaches the database.

mod proxy;
mod pty;

use std::time::{Duration, Instant};

use proxy::Proxy;
use pty::{Till, uuid_after};
use store_core::seed::{SeedOptions, seed};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(60);

fn purchases_of(
    runtime: &tokio::runtime::Runtime,
    db: &store_testkit::TestDb,
    customer: Uuid,
) -> Vec<Vec<i32>> {
    runtime.block_on(async {
        let client = db.store.client().await.expect("the database, directly");
        client
            .query(
                "SELECT (SELECT array_agg(product_id ORDER BY product_id) \
                 FROM purchase_product WHERE purchase_id = p.id) \
                 FROM purchase p WHERE user_id = $1",
                &[&customer],
            )
            .await
            .expect("reading the purchases")
            .iter()
            .map(|r| r.get::<_, Vec<i32>>(0))
            .collect()
    })
}

#[test]
fn a_silently_dropped_link_shows_reconnecting_sells_offline_and_recovers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = store_testkit::fresh_db().await;
        seed(&db.store, &SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        db
    });
    let server = &store_testkit::server().server;
    let proxy = Proxy::start(&runtime, server.socket_dir(), server.port());
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("till.jsonl");
    let mut till = Till::start(
        &proxy.url(&db.name),
        home.path(),
        &["--journal", journal.to_str().unwrap()],
    );
    till.wait_for("SMKT003");
    till.send("1");
    till.wait_for("Customer: not chosen");
    till.wait_for("● connected");

    proxy.stall();
    let stalled = Instant::now();
    till.wait_for("RECONNECTING");
    eprintln!(
        "RECONNECTING shown {} ms after the link stalled",
        stalled.elapsed().as_millis()
    );

    // The cashier goes on: the sale is saved offline, in the journal.
    till.send("n");
    let screen = till.wait_for("Customer: NEW");
    let customer = uuid_after(&screen, "Customer: NEW");
    till.send("1\r");
    till.wait_for("Cart: 1 item(s)");
    till.send("3\r");
    till.wait_for("Cart: 2 item(s)");
    till.send("s\r");
    let screen = till.wait_for("SAVED OFFLINE");
    let sale_key = uuid_after(&screen, "Sale key  ");
    till.wait_for("offline: 1 sale waiting");
    let saved = std::fs::read_to_string(&journal).expect("the journal");
    assert!(saved.contains(&sale_key.to_string()), "{saved}");

    // The link carries packets again: connected, and the queued sale is sent.
    proxy.forward();
    let back = Instant::now();
    till.wait_for("● connected");
    eprintln!(
        "\"connected\" shown {} ms after the link came back",
        back.elapsed().as_millis()
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found = purchases_of(&runtime, &db, customer);
        if found == vec![vec![1, 3]] {
            break;
        }
        assert!(found.is_empty(), "not exactly one purchase: {found:?}");
        assert!(
            Instant::now() < deadline,
            "the queued sale never arrived; the screen:\n{}",
            till.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    till.send(" ");
    till.wait_for("Customer: not chosen");
    let screen = till.wait_for("● connected");
    assert!(!screen.contains("waiting"), "{screen}");
    till.send("q");
    assert!(till.wait_exit().success());
}
