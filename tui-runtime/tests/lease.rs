//! A leased connection goes back to the pool only when released; dropped unfinished (a timeout,
//! an aborted task) it leaves the pool. Against a real server (the test kit's).

use std::time::Duration;

use tui_runtime::{Failure, Lease};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_work_did_not_finish_is_not_given_back() {
    let db = store_core::testkit::fresh_db().await;
    let pool = db.store.pool().clone();

    let lease = Lease::new(db.store.client().await.unwrap());
    lease.simple_query("SELECT 1").await.unwrap();
    let id = deadpool_postgres::Object::id(&lease);
    lease.release();
    assert_eq!(pool.status().size, 1);
    assert_eq!(pool.status().available, 1);

    // A connection stuck (in a sleep standing for a hung socket) past its limit.
    let store = db.store.clone();
    let outcome = tui_runtime::effect::run_bounded(Duration::from_millis(300), async move {
        let lease = Lease::new(store.client().await.unwrap());
        lease.simple_query("SELECT pg_sleep(30)").await.map(|_| ())
    })
    .await;
    assert!(matches!(outcome, Err(Failure::TimedOut(_))), "{outcome:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.status().size != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the stuck connection is still in the pool: {:?}",
            pool.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The next client is a new connection.
    let next = db.store.client().await.unwrap();
    assert_ne!(deadpool_postgres::Object::id(&next), id);
}
