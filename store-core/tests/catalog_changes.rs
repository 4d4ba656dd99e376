//! Issue 13 against the real server: the catalog and the cashiers changed by icash_manager
//! (and nobody else) through their functions, retired products, time zones, and the catalog
//! notifications that bring changes to open tills.

use std::time::Duration;

use rust_decimal::Decimal;
use store_core::Store;
use store_core::db::live::{CATALOG_CHANNEL, LISTENING, listen};
use store_core::db::roles::{CLERK_ROLE, MANAGER_ROLE, OWNER_ROLE, RolePasswords, create_roles};
use store_core::domain::analytics;
use store_core::domain::cashier;
use store_core::domain::catalog;
use store_core::domain::checkout::{CustomerChoice, Sale, record_purchase};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db, server};
use tokio_postgres::error::SqlState;

fn store_as(role: &str, dbname: &str) -> Store {
    let mut config = server().server.config(dbname);
    config.user(role);
    Store::from_config(config, role.into(), 2).unwrap()
}

async fn demo_with_roles() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    db
}

fn code(e: &store_core::Error) -> Option<String> {
    match e {
        store_core::Error::Db(db) => db.code().map(|c| c.code().to_string()),
        _ => None,
    }
}

fn is_denied(e: &store_core::Error) -> bool {
    code(e).as_deref() == Some(SqlState::INSUFFICIENT_PRIVILEGE.code())
}

fn sale(products: &[i32]) -> Sale {
    let mut s = Sale::open("SMKT001", CustomerChoice::new_customer());
    s.product_ids = products.to_vec();
    s
}

#[tokio::test]
async fn the_manager_changes_the_catalog_and_cashiers_and_the_clerk_and_owner_cannot() {
    let db = demo_with_roles().await;
    let manager = store_as(MANAGER_ROLE, &db.name);
    let client = manager.client().await.unwrap();

    catalog::add_branch(&client, " SMKT009 ", "Riverside", Some("Europe/Paris"))
        .await
        .unwrap();
    catalog::rename_branch(&client, "SMKT009", "Riverside Mall")
        .await
        .unwrap();
    let id = catalog::add_product(&client, " oat milk ", Decimal::new(195, 2))
        .await
        .unwrap();
    catalog::set_product_price(&client, id, Decimal::new(210, 2))
        .await
        .unwrap();
    assert!(
        catalog::set_product_retired(&client, id, true)
            .await
            .unwrap()
    );
    assert!(
        !catalog::set_product_retired(&client, id, true)
            .await
            .unwrap()
    );
    assert!(
        catalog::set_product_retired(&client, id, false)
            .await
            .unwrap()
    );
    cashier::add_cashier(&client, 12, "Ada Lovelace", Some("4321"))
        .await
        .unwrap();
    cashier::add_cashier(&client, 13, "Grace", None)
        .await
        .unwrap();
    assert!(cashier::retire_cashier(&client, 13).await.unwrap());
    assert!(!cashier::retire_cashier(&client, 13).await.unwrap());

    let loaded = catalog::load_catalog(&client).await.unwrap();
    let branch = loaded.find_branch("SMKT009").unwrap();
    assert_eq!(branch.name, "Riverside Mall");
    assert_eq!(
        branch.timezone.map(|zone| zone.name()),
        Some("Europe/Paris")
    );
    let product = loaded.product(id).unwrap();
    assert_eq!(
        (product.name.as_str(), product.unit_price),
        ("oat milk", Decimal::new(210, 2))
    );
    let listed = cashier::list_cashiers(&client).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| (c.number, c.name.as_str(), c.has_pin, c.retired_at.is_some()))
            .collect::<Vec<_>>(),
        [
            (12, "Ada Lovelace", true, false),
            (13, "Grace", false, true)
        ]
    );

    // The clerk's roster: cashiers not retired, whose PIN checks against the stored hash.
    let clerk = store_as(CLERK_ROLE, &db.name);
    let till = clerk.client().await.unwrap();
    let roster = cashier::load_roster(&till).await.unwrap();
    assert_eq!(roster.len(), 1);
    assert_eq!(roster[0].cashier.number, 12);
    assert!(roster[0].needs_pin());
    assert!(roster[0].verify_pin("4321"));
    assert!(!roster[0].verify_pin("1234"));

    // The clerk and the owner can change nothing of it.
    let owner = store_as(OWNER_ROLE, &db.name);
    for store in [&clerk, &owner] {
        let c = store.client().await.unwrap();
        let refusals = [
            catalog::add_branch(&c, "SMKT010", "Nope", None).await.err(),
            catalog::rename_branch(&c, "SMKT001", "Nope").await.err(),
            catalog::add_product(&c, "contraband", Decimal::ONE)
                .await
                .err(),
            catalog::set_product_price(&c, 1, Decimal::ONE).await.err(),
            catalog::set_product_retired(&c, 1, true).await.err(),
            cashier::add_cashier(&c, 99, "Mallory", None).await.err(),
            cashier::retire_cashier(&c, 12).await.err(),
        ];
        for (i, refusal) in refusals.iter().enumerate() {
            let e = refusal
                .as_ref()
                .unwrap_or_else(|| panic!("change {i} allowed"));
            assert!(is_denied(e), "change {i}: {e}");
        }
    }
    // Nobody but the roster function reads the PIN hashes.
    for store in [&clerk, &owner, &manager] {
        let c = store.client().await.unwrap();
        let e = c
            .query("SELECT pin_hash FROM public.cashier", &[])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e}");
    }
    let c = owner.client().await.unwrap();
    let names: i64 = c
        .query_one("SELECT count(name) FROM public.cashier", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(names, 2, "the owner reads the cashiers' names");
    assert!(
        cashier::load_roster(&c)
            .await
            .err()
            .is_some_and(|e| is_denied(&e)),
        "the owner reads no PIN hash through the roster"
    );
}

#[tokio::test]
async fn a_manager_gains_nothing_beyond_the_catalog() {
    let db = demo_with_roles().await;
    let manager = store_as(MANAGER_ROLE, &db.name);
    let client = manager.client().await.unwrap();
    for statement in [
        "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount) VALUES ('SMKT001', now(), gen_random_uuid(), 1)",
        "DELETE FROM purchase",
        "UPDATE stat_product_units SET units = 0",
        "UPDATE stat_branch_totals SET revenue = 0",
        "UPDATE customer SET purchases = 99",
        "UPDATE product SET unit_price = 0.01",
        "INSERT INTO supermarket (id) VALUES ('X')",
        "UPDATE cashier SET pin_hash = NULL",
        "SELECT * FROM purchase",
        "SELECT * FROM customer",
        "SELECT fold_purchases(10)",
        "SELECT * FROM record_purchase(gen_random_uuid(), 'SMKT001', gen_random_uuid(), true, ARRAY[1], NULL, NULL)",
        "SELECT * FROM cashier_roster()",
        "CREATE TABLE public.mine (x int)",
        "CREATE TEMP TABLE mine (x int)",
        "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ] {
        let e = client.batch_execute(statement).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "the manager could run: {statement}: {e}"
        );
    }
}

#[tokio::test]
async fn catalog_changes_say_what_is_wrong_and_change_nothing() {
    let db = demo_with_roles().await;
    let manager = store_as(MANAGER_ROLE, &db.name);
    let client = manager.client().await.unwrap();
    let before = catalog::load_catalog(&client).await.unwrap();

    let e = catalog::add_branch(&client, "SMKT010", "Somewhere", Some("Mars/Olympus"))
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM07"), "{e}");
    assert!(
        e.to_string().contains("unknown time zone Mars/Olympus"),
        "{e}"
    );
    let e = catalog::add_branch(&client, "SMKT001", "Again", None)
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM01"), "{e}");
    let e = catalog::add_branch(&client, "SMKT 10", "Spaces", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a branch id"), "{e}");
    let e = catalog::rename_branch(&client, "SMKT404", "Ghost")
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM02"), "{e}");
    let e = catalog::rename_branch(&client, "SMKT001", "tab\there")
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("branch name: "), "{e}");
    // Names follow the seeder's rules, and match as the seeder matches them.
    let e = catalog::add_product(&client, " MILK ", Decimal::ONE)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("exists already (id 1"), "{e}");
    for bad in ["", "42", "salt, pepper", "zero\u{200b}width"] {
        assert!(
            catalog::add_product(&client, bad, Decimal::ONE)
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    let e = catalog::set_product_price(&client, 4040, Decimal::ONE)
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM04"), "{e}");
    let e = catalog::set_product_retired(&client, 4040, true)
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM04"), "{e}");
    for bad in ["0", "-1", "1.234", "abc", "100000000"] {
        assert!(catalog::unit_price(bad).is_err(), "{bad}");
    }
    assert_eq!(catalog::unit_price("2.5").unwrap(), Decimal::new(250, 2));
    cashier::add_cashier(&client, 5, "Ada", None).await.unwrap();
    let e = cashier::add_cashier(&client, 5, "Bob", None)
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM05"), "{e}");
    let e = cashier::retire_cashier(&client, 6).await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ICM06"), "{e}");
    assert!(
        cashier::add_cashier(&client, 0, "Zero", None)
            .await
            .is_err()
    );
    assert!(
        cashier::add_cashier(&client, 7, "Pin", Some("12"))
            .await
            .is_err()
    );

    let after = catalog::load_catalog(&client).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(cashier::list_cashiers(&client).await.unwrap().len(), 1);
}

#[tokio::test]
async fn every_catalog_change_reaches_a_listening_till() {
    let db = demo_with_roles().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn(listen(db.store.config().clone(), &[CATALOG_CHANNEL], tx));
    let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<_>| {
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("a notice")
            .expect("the listener runs")
    };
    let ready: store_core::db::live::Notice = next(&mut rx).await;
    assert_eq!(ready.channel, LISTENING);
    let manager = store_as(MANAGER_ROLE, &db.name);
    let c = manager.client().await.unwrap();
    let mut expected = Vec::new();
    catalog::add_branch(&c, "SMKT020", "North", None)
        .await
        .unwrap();
    expected.push("supermarket");
    catalog::rename_branch(&c, "SMKT020", "North End")
        .await
        .unwrap();
    expected.push("supermarket");
    let id = catalog::add_product(&c, "figs", Decimal::new(399, 2))
        .await
        .unwrap();
    expected.push("product");
    catalog::set_product_price(&c, id, Decimal::new(349, 2))
        .await
        .unwrap();
    expected.push("product");
    catalog::set_product_retired(&c, id, true).await.unwrap();
    expected.push("product");
    catalog::set_product_retired(&c, id, false).await.unwrap();
    expected.push("product");
    cashier::add_cashier(&c, 1, "Ada", None).await.unwrap();
    expected.push("cashier");
    cashier::retire_cashier(&c, 1).await.unwrap();
    expected.push("cashier");
    let mut got = Vec::new();
    for _ in &expected {
        let notice = next(&mut rx).await;
        assert_eq!(notice.channel, CATALOG_CHANNEL);
        got.push(notice.payload);
    }
    assert_eq!(got, expected);
    listener.abort();
}

#[tokio::test]
async fn a_retired_product_is_not_sold_but_stays_in_history_and_analytics() {
    let db = demo_with_roles().await;
    let owner = db.store.client().await.unwrap();
    let before = analytics::report(&owner, 3).await.unwrap();
    let sold_before: i64 = owner
        .query_one(
            "SELECT count(*) FROM purchase_product WHERE product_id = 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(sold_before > 0);
    let retired_at = chrono::Utc::now();
    assert!(catalog::set_product_retired(&owner, 2, true).await.unwrap());

    let clerk = store_as(CLERK_ROLE, &db.name);
    let till = clerk.client().await.unwrap();
    let on_sale = catalog::load_catalog(&till).await.unwrap();
    assert!(on_sale.product(2).is_none());
    assert_eq!(on_sale.products.len(), 9);
    let name = catalog::list_products(&owner).await.unwrap()[1]
        .name
        .clone();
    match record_purchase(&till, &sale(&[1, 2])).await {
        Err(CheckoutError::RetiredProduct(which)) => {
            assert_eq!(which, format!("{name} (id 2)"));
            let e = CheckoutError::RetiredProduct(which);
            assert!(e.is_business_refusal());
            assert!(e.to_string().contains("no longer sold"), "{e}");
        }
        other => panic!("a retired product was sold: {other:?}"),
    }
    // History, receipts and analytics keep it.
    let after = analytics::report(&owner, 3).await.unwrap();
    assert_eq!(
        (
            after.unique_buyers,
            &after.loyal_buyers,
            &after.top_products
        ),
        (
            before.unique_buyers,
            &before.loyal_buyers,
            &before.top_products
        )
    );
    assert!(after.top_products.iter().any(|p| p.product_id == 2));
    let sold_after: i64 = owner
        .query_one(
            "SELECT count(*) FROM purchase_product WHERE product_id = 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sold_after, sold_before);
    // A paid offline sale made before the retirement, sent late, is recorded.
    let mut late = sale(&[2]);
    late.sold_at = Some(retired_at - chrono::Duration::minutes(10));
    let receipt = record_purchase(&till, &late).await.unwrap();
    assert_eq!(receipt.lines[0].name, name);
    // Restored, it sells again.
    assert!(
        catalog::set_product_retired(&owner, 2, false)
            .await
            .unwrap()
    );
    record_purchase(&till, &sale(&[2])).await.unwrap();
}

#[tokio::test]
async fn the_embedded_default_owner_changes_the_catalog_through_the_same_functions() {
    // The test server's superuser stands for the embedded default's owner.
    let db = fresh_db().await;
    let c = db.store.client().await.unwrap();
    catalog::add_branch(&c, "SMKT001", "Harbour Road", Some("America/New_York"))
        .await
        .unwrap();
    let id = catalog::add_product(&c, "milk", Decimal::new(120, 2))
        .await
        .unwrap();
    assert_eq!(catalog::resolve_product(&c, "MILK").await.unwrap().id, id);
    assert_eq!(
        catalog::resolve_product(&c, &id.to_string())
            .await
            .unwrap()
            .name,
        "milk"
    );
    assert!(catalog::resolve_product(&c, "bread").await.is_err());
    let listed = catalog::load_catalog(&c).await.unwrap();
    assert_eq!(
        listed.branches[0].timezone.map(|zone| zone.name()),
        Some("America/New_York")
    );
}

#[tokio::test]
async fn a_product_retired_while_a_till_is_offline_does_not_refuse_its_queued_sales() {
    use std::sync::{Arc, Mutex};
    use store_core::till::journal::{Journal, Outcome, drain, submit_durably};

    let db = demo_with_roles().await;
    let owner = db.store.client().await.unwrap();
    let clerk = store_as(CLERK_ROLE, &db.name);
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(Mutex::new(
        Journal::open(dir.path().join("till.journal")).unwrap(),
    ));
    // Retired while the till is offline: its catalog still sells it, after the retirement.
    assert!(catalog::set_product_retired(&owner, 2, true).await.unwrap());
    let config: tokio_postgres::Config = "host=127.0.0.1 port=1 user=nobody".parse().unwrap();
    let nowhere = Store::from_config(config, "nowhere".into(), 1).unwrap();
    let paid = sale(&[1, 2]).at_till("T01", None);
    let queued = match submit_durably(&nowhere, &journal, &paid).await {
        Ok(Outcome::Queued(queued)) => queued,
        got => panic!("not queued: {got:?}"),
    };
    assert!(queued.sold_at.is_some());

    // A cashier at a till is still told.
    assert!(matches!(
        submit_durably(&clerk, &journal, &sale(&[2]).at_till("T01", None)).await,
        Err(CheckoutError::RetiredProduct(_))
    ));
    // The queued, paid sale is recorded when the till is back.
    let report = drain(&clerk, &journal).await.unwrap();
    assert_eq!(
        (
            report.sent,
            report.refused,
            report.still_pending,
            report.stopped
        ),
        (1, 0, 0, None)
    );
    let lines: i64 = owner
        .query_one(
            "SELECT count(*) FROM purchase p JOIN purchase_product pp ON pp.purchase_id = p.id \
             WHERE p.sale_key = $1",
            &[&queued.sale_key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(lines, 2);
    // The clerk may say so only through the function's own argument, in one call.
    let till = clerk.client().await.unwrap();
    till.query(
        "SELECT * FROM record_purchase(gen_random_uuid(), 'SMKT001', gen_random_uuid(), true, \
         ARRAY[2], NULL, NULL, NULL, NULL, NULL, true)",
        &[],
    )
    .await
    .unwrap();
    let live = till
        .query(
            "SELECT * FROM record_purchase(gen_random_uuid(), 'SMKT001', gen_random_uuid(), \
             true, ARRAY[2], NULL, NULL, NULL, NULL, NULL, false)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(live.code().map(|c| c.code()), Some("ICP04"));
}

#[tokio::test]
async fn only_pin_hashes_with_the_costs_store_core_uses_are_stored() {
    let db = demo_with_roles().await;
    let manager = store_as(MANAGER_ROLE, &db.name);
    let client = manager.client().await.unwrap();
    let real = cashier::hash_pin("1234").unwrap();
    let tail = real.strip_prefix(cashier::PIN_HASH_PREFIX).unwrap();
    for hostile in [
        format!("$argon2id$v=19$m=4294967295,t=2,p=1${tail}"),
        format!("$argon2id$v=19$m=19456,t=4294967295,p=1${tail}"),
        format!("$argon2i$v=19$m=19456,t=2,p=1${tail}"),
        "$argon2".to_string(),
    ] {
        let e = client
            .execute("SELECT add_cashier(20, 'Mallory', $1)", &[&hostile])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::CHECK_VIOLATION), "{hostile}");
    }
    client
        .execute("SELECT add_cashier(20, 'Ada', $1)", &[&real])
        .await
        .unwrap();
    let roster = cashier::load_roster(&store_as(CLERK_ROLE, &db.name).client().await.unwrap())
        .await
        .unwrap();
    assert!(roster[0].needs_pin() && roster[0].verify_pin("1234"));
}
