//! Receipt numbers against the real server: gapless per till, given by the till's journal,
//! kept by replays and offline sales, unique per till in the database.

use std::sync::{Arc, Mutex};

use store_core::Store;
use store_core::db::roles::{CLERK_ROLE, RolePasswords, create_roles};
use store_core::domain::cashier;
use store_core::domain::catalog;
use store_core::domain::checkout::{
    CustomerChoice, MAX_RECEIPT_NO, Sale, last_receipt_no, record_purchase,
};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_core::till::journal::{Entry, Journal, Outcome, SharedJournal, drain, submit_durably};
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
            // Not the sale's fault: a till renumbers it rather than refusing a paid sale.
            assert!(!e.is_business_refusal());
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

/// The sale entries a journal file holds for `sale_key`, with their receipt numbers.
fn numbers_written(journal: &SharedJournal, sale_key: uuid::Uuid) -> Vec<Option<i64>> {
    journal
        .lock()
        .unwrap()
        .read_entries()
        .unwrap()
        .into_iter()
        .filter_map(|(_, entry)| match entry {
            Entry::Sale { sale } if sale.sale_key == sale_key => Some(sale.receipt_no),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_taken_receipt_number_is_renumbered_from_the_database_and_the_sale_recorded() {
    let db = demo_db().await;
    let till = clerk(&db);
    let dir = tempfile::tempdir().unwrap();
    // Two tills given the same id, each with its own journal.
    let one = shared(Journal::open(dir.path().join("one.journal")).unwrap());
    let other = shared(Journal::open(dir.path().join("other.journal")).unwrap());
    assert_eq!(recorded(&till, &one, &at_till(&[1])).await, 1);

    // The other till gives 1 too: the database has it, so the sale becomes 2 and is recorded.
    let sale = at_till(&[2]);
    assert_eq!(recorded(&till, &other, &sale).await, 2);
    // The new number is in the journal, after the one it replaces.
    assert_eq!(numbers_written(&other, sale.sale_key), [Some(1), Some(2)]);
    assert_eq!(other.lock().unwrap().pending_count(), 0);
    assert_eq!(recorded(&till, &other, &at_till(&[3])).await, 3);
    // And the first till, whose next number 2 is taken now, continues after the database's.
    assert_eq!(recorded(&till, &one, &at_till(&[4])).await, 4);
    assert_eq!(
        numbers_in_database(&db).await,
        (1..=4).map(|n| (n, Some(7))).collect::<Vec<_>>()
    );

    // Offline, the other till queues 4 (its journal knows 3): the drain renumbers it to 5.
    let queued = match submit_durably(&offline(), &other, &at_till(&[5])).await {
        Ok(Outcome::Queued(sale)) => sale,
        got => panic!("not queued: {got:?}"),
    };
    assert_eq!(queued.receipt_no, Some(4));
    let report = drain(&till, &other).await.unwrap();
    assert_eq!(
        (
            report.sent,
            report.refused,
            report.still_pending,
            report.stopped
        ),
        (1, 0, 0, None)
    );
    assert_eq!(numbers_written(&other, queued.sale_key), [Some(4), Some(5)]);
    let recorded_as: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT receipt_no FROM purchase WHERE sale_key = $1",
            &[&queued.sale_key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded_as, 5);
}

/// Makes the database's last_receipt_no answer `sql` (standing for a number taken by another
/// sale between the till's reading it and sending again).
async fn last_receipt_no_answers(db: &TestDb, sql: &str) {
    db.store
        .client()
        .await
        .unwrap()
        .batch_execute(&format!(
            "CREATE OR REPLACE FUNCTION public.last_receipt_no(p_till text) RETURNS bigint \
             LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp \
             AS $$ {sql} $$"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sale_whose_new_number_is_taken_too_stays_queued_and_is_never_refused() {
    let db = demo_db().await;
    let till = clerk(&db);
    let client = till.client().await.unwrap();
    for n in [1, 2] {
        let mut s = at_till(&[1]);
        s.receipt_no = Some(n);
        record_purchase(&client, &s).await.unwrap();
    }
    last_receipt_no_answers(&db, "SELECT 0::bigint").await;
    let dir = tempfile::tempdir().unwrap();
    let journal = shared(Journal::open(dir.path().join("till.journal")).unwrap());
    let sale = at_till(&[3]);
    // 1 is taken, and so is 2, its new number: kept, queued, not cancelled.
    match submit_durably(&till, &journal, &sale).await {
        Ok(Outcome::Queued(queued)) => assert_eq!(queued.receipt_no, Some(2)),
        got => panic!("not queued: {got:?}"),
    }
    assert_eq!(journal.lock().unwrap().pending()[0].receipt_no, Some(2));
    // The drain renumbers it to 3, which another sale took first: the round stops, the sale
    // waits, nothing is refused.
    let mut s = at_till(&[1]);
    s.receipt_no = Some(3);
    record_purchase(&client, &s).await.unwrap();
    let report = drain(&till, &journal).await.unwrap();
    assert_eq!(
        (report.sent, report.refused, report.still_pending),
        (0, 0, 1)
    );
    assert!(
        matches!(report.stopped, Some(CheckoutError::ReceiptNumberTaken(_))),
        "{report:?}"
    );
    assert!(journal.lock().unwrap().refused().is_empty());

    // Once the database answers its real last number, the next drain records it after it.
    last_receipt_no_answers(
        &db,
        "SELECT coalesce(max(p.receipt_no), 0) FROM public.purchase p WHERE p.till = p_till",
    )
    .await;
    let report = drain(&till, &journal).await.unwrap();
    assert_eq!(
        (report.sent, report.refused, report.still_pending),
        (1, 0, 0)
    );
    assert_eq!(
        numbers_written(&journal, sale.sale_key),
        [Some(1), Some(2), Some(3), Some(4)]
    );
    assert_eq!(recorded(&till, &journal, &at_till(&[4])).await, 5);
}

#[tokio::test]
async fn a_taken_number_of_seven_digits_is_shown_whole() {
    let db = demo_db().await;
    let client = clerk(&db).client().await.unwrap();
    let mut first = at_till(&[1]);
    first.receipt_no = Some(1_234_567);
    assert_eq!(
        record_purchase(&client, &first)
            .await
            .unwrap()
            .receipt_number()
            .as_deref(),
        Some("T03-1234567")
    );
    let mut other = at_till(&[2]);
    other.receipt_no = first.receipt_no;
    match record_purchase(&client, &other).await {
        Err(CheckoutError::ReceiptNumberTaken(text)) => assert!(
            text.contains("receipt number T03-1234567 is already the number of another sale"),
            "{text}"
        ),
        got => panic!("{got:?}"),
    }
}

#[tokio::test]
async fn a_receipt_number_out_of_bounds_is_refused_clearly_and_does_not_block_the_queue() {
    let db = demo_db().await;
    let till = clerk(&db);
    let client = till.client().await.unwrap();
    for number in [MAX_RECEIPT_NO + 1, i64::MAX, 0, -1] {
        let mut s = at_till(&[1]);
        s.receipt_no = Some(number);
        match record_purchase(&client, &s).await {
            Err(e @ CheckoutError::ReceiptNumberOutOfRange(_)) => {
                assert!(e.is_business_refusal());
                let text = e.to_string();
                assert!(
                    text.contains(&format!("receipt number {number} is out of range"))
                        && text.contains("from 1 to 999999999999"),
                    "{text}"
                );
            }
            got => panic!("{number}: {got:?}"),
        }
    }
    let mut highest = at_till(&[1]);
    highest.receipt_no = Some(MAX_RECEIPT_NO);
    record_purchase(&client, &highest).await.unwrap();

    // A journal holding such a number (written by hand, or by a damaged till) is drained: that
    // sale is kept as refused for a person, the next one is sent.
    let dir = tempfile::tempdir().unwrap();
    let journal = shared(Journal::open(dir.path().join("till.journal")).unwrap());
    let mut bad = Sale::open("SMKT001", CustomerChoice::new_customer()).at_till("T05", Some(7));
    bad.product_ids = vec![1];
    bad.receipt_no = Some(MAX_RECEIPT_NO + 1);
    let mut good = bad.clone();
    good.sale_key = uuid::Uuid::now_v7();
    good.receipt_no = Some(1);
    journal.lock().unwrap().record(&bad).unwrap();
    journal.lock().unwrap().record(&good).unwrap();
    let report = drain(&till, &journal).await.unwrap();
    assert_eq!(
        (
            report.sent,
            report.refused,
            report.still_pending,
            report.stopped
        ),
        (1, 1, 0, None)
    );
    assert_eq!(
        journal.lock().unwrap().refused()[0].sale.sale_key,
        bad.sale_key
    );
}
