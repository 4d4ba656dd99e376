//! Receipt numbers against the real server: gapless per till, given by the till's journal,
//! kept by replays and offline sales, unique per till in the database.

use std::sync::{Arc, Mutex};

use store_core::Store;
use store_core::db::roles::{CLERK_ROLE, RolePasswords, create_roles};
use store_core::domain::cashier;
use store_core::domain::catalog;
use store_core::domain::checkout::{CustomerChoice, Sale, last_receipt_no, record_purchase};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_core::till::journal::{Journal, Outcome, SharedJournal, drain, submit_durably};
use store_testkit::{TestDb, fresh_db, server};

async fn demo_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    cashier::add_cashier(&db.store.client().await.unwrap(), 7, "Ada", None)
        .await
        .unwrap();
    db
}

fn clerk(db: &TestDb) -> Store {
    let mut config = server().server.config(&db.name);
    config.user(CLERK_ROLE);
    Store::from_config(config, "till".into(), 2).unwrap()
}

/// A store nothing listens at: every sale sent there is queued.
fn offline() -> Store {
    let config: tokio_postgres::Config = "host=127.0.0.1 port=1 user=nobody".parse().unwrap();
    Store::from_config(config, "nowhere".into(), 1).unwrap()
}

fn at_till(products: &[i32]) -> Sale {
    let mut s = Sale::open("SMKT001", CustomerChoice::new_customer()).at_till("T03", Some(7));
    s.product_ids = products.to_vec();
    s
}

fn shared(journal: Journal) -> SharedJournal {
    Arc::new(Mutex::new(journal))
}

async fn recorded(store: &Store, journal: &SharedJournal, sale: &Sale) -> i64 {
    match submit_durably(store, journal, sale).await {
        Ok(Outcome::Recorded(receipt)) => {
            assert_eq!(receipt.till.as_deref(), Some("T03"));
            assert_eq!(receipt.cashier, Some(7));
            receipt.receipt_no.expect("a receipt number")
        }
        other => panic!("not recorded: {other:?}"),
    }
}

async fn numbers_in_database(db: &TestDb) -> Vec<(i64, Option<i32>)> {
    db.store
        .client()
        .await
        .unwrap()
        .query(
            "SELECT receipt_no, cashier FROM purchase WHERE till = 'T03' ORDER BY receipt_no",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn numbers_are_gapless_through_refusals_and_offline_sales() {
    let db = demo_db().await;
    let till = clerk(&db);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let journal = shared(Journal::open(&path).unwrap());

    assert_eq!(recorded(&till, &journal, &at_till(&[1])).await, 1);
    // Refused while the cashier is there: its number goes to the next sale.
    catalog::set_product_retired(&db.store.client().await.unwrap(), 10, true)
        .await
        .unwrap();
    let refused = submit_durably(&till, &journal, &at_till(&[1, 10])).await;
    assert!(
        matches!(refused, Err(CheckoutError::RetiredProduct(_))),
        "{refused:?}"
    );
    assert_eq!(recorded(&till, &journal, &at_till(&[2])).await, 2);

    // Offline: queued with the next numbers, in order, and recorded with them.
    let nowhere = offline();
    let mut queued = Vec::new();
    for products in [[3], [4]] {
        match submit_durably(&nowhere, &journal, &at_till(&products)).await {
            Ok(Outcome::Queued(sale)) => queued.push(sale.receipt_no),
            other => panic!("not queued: {other:?}"),
        }
    }
    assert_eq!(queued, [Some(3), Some(4)]);
    // The till restarts before the database comes back.
    drop(journal);
    let journal = shared(Journal::open(&path).unwrap());
    assert_eq!(journal.lock().unwrap().last_receipt_no("T03"), 4);
    let report = drain(&till, &journal).await.unwrap();
    assert_eq!(
        (report.sent, report.refused, report.still_pending),
        (2, 0, 0)
    );
    assert_eq!(recorded(&till, &journal, &at_till(&[5])).await, 5);

    assert_eq!(
        numbers_in_database(&db).await,
        (1..=5).map(|n| (n, Some(7))).collect::<Vec<_>>()
    );
    assert_eq!(
        last_receipt_no(&till.client().await.unwrap(), "T03")
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        last_receipt_no(&till.client().await.unwrap(), "T99")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_replay_keeps_its_number_and_another_sale_cannot_take_it() {
    let db = demo_db().await;
    let till = clerk(&db);
    let client = till.client().await.unwrap();
    let mut sale = at_till(&[1, 2]);
    sale.receipt_no = Some(41);
    let first = record_purchase(&client, &sale).await.unwrap();
    assert_eq!(first.receipt_number().as_deref(), Some("T03-000041"));

    let replay = record_purchase(&client, &sale).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(
        (replay.purchase_id, replay.receipt_number()),
        (first.purchase_id, Some("T03-000041".into()))
    );
    // The same key from another till is another sale.
    let mut elsewhere = sale.clone();
    elsewhere.till = Some("T04".into());
    assert_eq!(
        record_purchase(&client, &elsewhere).await,
        Err(CheckoutError::SaleKeyReused(sale.sale_key))
    );

    // Another sale with this till's number is refused, clearly, and writes nothing.
    let before = numbers_in_database(&db).await;
    let mut other = at_till(&[3]);
    other.receipt_no = Some(41);
    match record_purchase(&client, &other).await {
        Err(e @ CheckoutError::ReceiptNumberTaken(_)) => {
            assert!(e.is_business_refusal());
            let text = e.to_string();
            assert!(
                text.contains("receipt number T03-000041 is already the number of another sale"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(numbers_in_database(&db).await, before);
    let customers: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM customer WHERE user_id = $1",
            &[&other.customer.user_id()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(customers, 0);
    // The same number at another till is another receipt.
    other.till = Some("T04".into());
    record_purchase(&client, &other).await.unwrap();
}

#[tokio::test]
async fn a_new_journal_on_an_existing_till_continues_the_database_numbers() {
    let db = demo_db().await;
    let till = clerk(&db);
    let dir = tempfile::tempdir().unwrap();
    let first = shared(Journal::open(dir.path().join("old.journal")).unwrap());
    for _ in 0..3 {
        recorded(&till, &first, &at_till(&[1])).await;
    }
    drop(first);

    let path = dir.path().join("new.journal");
    let mut journal = Journal::open(&path).unwrap();
    let last = last_receipt_no(&till.client().await.unwrap(), "T03")
        .await
        .unwrap();
    journal.align_receipt_numbers("T03", last).unwrap();
    // Never lowered; written durably.
    journal.align_receipt_numbers("T03", 1).unwrap();
    drop(journal);
    let journal = shared(Journal::open(&path).unwrap());
    assert_eq!(journal.lock().unwrap().last_receipt_no("T03"), 3);
    assert_eq!(recorded(&till, &journal, &at_till(&[2])).await, 4);
}

#[tokio::test]
async fn sales_from_no_till_have_no_number_and_an_unknown_cashier_is_refused() {
    let db = demo_db().await;
    let till = clerk(&db);
    let client = till.client().await.unwrap();
    let mut plain = Sale::open("SMKT001", CustomerChoice::new_customer());
    plain.product_ids = vec![1];
    let receipt = record_purchase(&client, &plain).await.unwrap();
    assert_eq!(
        (receipt.till, receipt.cashier, receipt.receipt_no),
        (None, None, None)
    );

    let dir = tempfile::tempdir().unwrap();
    let journal = shared(Journal::open(dir.path().join("till.journal")).unwrap());
    let mut stranger =
        Sale::open("SMKT001", CustomerChoice::new_customer()).at_till("T03", Some(99));
    stranger.product_ids = vec![1];
    let refused = submit_durably(&till, &journal, &stranger).await;
    assert_eq!(refused, Err(CheckoutError::UnknownCashier(99)));
    assert!(CheckoutError::UnknownCashier(99).is_business_refusal());
    assert!(numbers_in_database(&db).await.is_empty());
    // Its number was given back.
    assert_eq!(recorded(&till, &journal, &at_till(&[1])).await, 1);
}
