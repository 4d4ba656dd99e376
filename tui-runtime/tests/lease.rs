//! A leased connection goes back to the pool only when released; dropped unfinished (a timeout,
//! an aborted task) it leaves the pool. Against a real server (the test kit's).

use std::time::Duration;

use tui_runtime::{Failure, Lease};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_work_did_not_finish_is_not_given_back() {
    let db = store_testkit::fresh_db().await;
    let pool = db.store.pool().clone();

    let lease = Lease::new(db.store.client().await.unwrap(), &db.store);
    lease.simple_query("SELECT 1").await.unwrap();
    let id = deadpool_postgres::Object::id(&lease);
    lease.release();
    assert_eq!(pool.status().size, 1);
    assert_eq!(pool.status().available, 1);

    // A connection stuck (in a sleep standing for a hung socket) past its limit.
    let store = db.store.clone();
    let outcome = tui_runtime::effect::run_bounded(Duration::from_millis(300), async move {
        let lease = Lease::new(store.client().await.unwrap(), &store);
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

/// Sessions of `db`'s database, other than `admin`'s, waiting for a lock.
async fn waiting_for_a_lock(admin: &deadpool_postgres::tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock' \
               AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Polls until `waiting_for_a_lock` is `expected`, for at most 10 s.
async fn until_waiting(
    admin: &deadpool_postgres::tokio_postgres::Client,
    expected: i64,
    why: &str,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let waiting = waiting_for_a_lock(admin).await;
        if waiting == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} session(s) waiting for a lock, not {expected}: {why}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Dropping our side of a connection does not end its statement on the server: one waiting for
/// a lock would keep its session (and a connection slot) until the lock goes. A lease dropped
/// unfinished has the server cancel it, while the lock is still held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_left_unfinished_is_cancelled_on_the_server() {
    let db = store_testkit::fresh_db().await;
    let admin = store_core::db::store::connect_one(db.store.config())
        .await
        .unwrap();
    let mut locker = store_core::db::store::connect_one(db.store.config())
        .await
        .unwrap();
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE stat_branch_hourly IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let store = db.store.clone();
    let limit = Duration::from_secs(3);
    let outcome = tokio::spawn(tui_runtime::effect::run_bounded(limit, async move {
        let lease = Lease::new(store.client().await.unwrap(), &store);
        lease
            .simple_query("SELECT count(*) FROM stat_branch_hourly")
            .await
            .map(|_| ())
    }));
    until_waiting(&admin, 1, "the query is to wait for the lock").await;
    let outcome = outcome.await.unwrap();
    assert_eq!(outcome.unwrap_err(), Failure::TimedOut(limit));

    until_waiting(
        &admin,
        0,
        "the timed-out query is still waiting for the lock",
    )
    .await;
    lock.rollback().await.unwrap();
}
