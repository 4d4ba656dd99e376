//! Least privilege, proved against the real server.

use store_core::Store;
use store_core::db::roles::{CLERK_ROLE, OWNER_ROLE, RolePasswords, create_roles};
use store_core::domain::analytics;
use store_core::domain::checkout::{CustomerChoice, Sale, record_purchase};
use store_core::seed::{self, SeedOptions};
use store_testkit::{fresh_db, server};

fn store_as(role: &str, dbname: &str) -> Store {
    let mut config = server().server.config(dbname);
    config.user(role);
    Store::from_config(config, role.into(), 2).unwrap()
}

fn denied(result: Result<u64, tokio_postgres::Error>) -> bool {
    result
        .err()
        .and_then(|e| e.code().cloned())
        .is_some_and(|c| c == tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
}

#[tokio::test]
async fn the_clerk_records_purchases_and_changes_nothing_else() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    let clerk = store_as(CLERK_ROLE, &db.name);
    let client = clerk.client().await.unwrap();

    let catalog = store_core::domain::catalog::load_catalog(&client)
        .await
        .unwrap();
    assert_eq!(catalog.products.len(), 10);
    store_core::domain::catalog::search_customers(&client, "a", 5)
        .await
        .unwrap();
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![1, 2];
    record_purchase(&client, &sale).await.unwrap();
    // The till path requires a sale key.
    let no_key = client
        .query(
            "SELECT * FROM record_purchase(NULL, 'SMKT001', gen_random_uuid(), true, ARRAY[1], NULL, NULL)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(no_key.code().map(|c| c.code()), Some("ICK02"), "{no_key:?}");

    for statement in [
        "UPDATE product SET unit_price = 0.01",
        "DELETE FROM purchase",
        "DELETE FROM customer",
        "UPDATE customer SET purchases = 99",
        "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount) VALUES ('SMKT001', now(), gen_random_uuid(), 1)",
        "INSERT INTO supermarket (id) VALUES ('X')",
        "TRUNCATE purchase_product",
        "UPDATE stat_product_units SET units = 0",
    ] {
        assert!(
            denied(client.execute(statement, &[]).await),
            "the clerk could run: {statement}"
        );
    }
}

#[tokio::test]
async fn the_owner_reads_everything_and_writes_nothing() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(
        &db.store.client().await.unwrap(),
        RolePasswords {
            owner: Some("s3cret"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let owner = store_as(OWNER_ROLE, &db.name);
    let client = owner.client().await.unwrap();
    let report = analytics::report(&client, 3).await.unwrap();
    assert!(report.unique_buyers > 0);

    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![1];
    assert!(
        record_purchase(&client, &sale).await.is_err(),
        "the owner recorded a sale"
    );
    for statement in [
        "UPDATE product SET unit_price = 0.01",
        "DELETE FROM purchase_product",
        "INSERT INTO customer VALUES (gen_random_uuid(), 1, now(), now())",
    ] {
        assert!(
            denied(client.execute(statement, &[]).await),
            "the owner could run: {statement}"
        );
    }
    // Running the grants again changes nothing and fails on nothing.
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
}

/// icash_owner may execute no function that writes (fold_purchases included); its dashboard on
/// the primary is as exact as before, from the counters plus the queue, and reading leaves the
/// queue to `store-core fold` (the tables' owner).
#[tokio::test]
async fn the_owner_executes_nothing_that_writes_and_its_figures_stay_exact() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    let admin = db.store.client().await.unwrap();
    let executable: Vec<String> = admin
        .query(
            "SELECT p.oid::regprocedure::text FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = 'public' AND has_function_privilege('icash_owner', p.oid, 'EXECUTE')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        executable,
        Vec::<String>::new(),
        "the owner may execute these"
    );

    for _ in 0..5 {
        let mut sale = Sale::open("SMKT002", CustomerChoice::new_customer());
        sale.product_ids = vec![3, 4];
        record_purchase(&admin, &sale).await.unwrap();
    }
    let owner = store_as(OWNER_ROLE, &db.name);
    let client = owner.client().await.unwrap();
    assert!(
        denied(
            client
                .execute("SELECT public.fold_purchases(10)", &[])
                .await
        ),
        "the owner folded"
    );
    assert_eq!(
        analytics::fold_where_allowed(&client).await.unwrap(),
        analytics::Counters::WithQueue
    );
    for branch in [None, Some("SMKT002")] {
        let filter = analytics::Filter {
            supermarket_id: branch.map(String::from),
            ..analytics::Filter::default()
        };
        let dashboard = analytics::dashboard(&client, &filter, 2, 50).await.unwrap();
        let recount = analytics::dashboard_from_rows(&admin, &filter, 2, 50)
            .await
            .unwrap();
        assert_eq!(
            analytics::Dashboard {
                generated_at: recount.generated_at,
                ..dashboard
            },
            recount,
            "{branch:?}"
        );
    }
    let queued: i64 = admin
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 5, "reading folded the queue");
    assert_eq!(analytics::fold(&admin).await.unwrap(), 5);
}

/// A deployment of the previous program (schema version 2) whose roles were set up then keeps
/// working through the migration that recreates the checkout and fold functions.
#[tokio::test]
async fn roles_set_up_before_the_migration_keep_their_rights_after_it() {
    let server = &server().server;
    let name = format!("legacy_roles_{}", std::process::id());
    let admin = store_core::db::store::connect_one(&server.config("postgres"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .unwrap();
    let store = Store::from_config(server.config(&name), name.clone(), 2).unwrap();
    let mut client = store.client().await.unwrap();
    client
        .batch_execute(include_str!("legacy/schema_v2.sql"))
        .await
        .unwrap();
    // What the previous program's `store-core roles` granted.
    client
        .batch_execute(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_clerk') THEN CREATE ROLE icash_clerk LOGIN; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_owner') THEN CREATE ROLE icash_owner LOGIN; END IF;
             END $$;
             GRANT SELECT ON product, supermarket, customer TO icash_clerk;
             GRANT EXECUTE ON FUNCTION record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz) TO icash_clerk;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO icash_owner;
             GRANT EXECUTE ON FUNCTION fold_purchases() TO icash_owner;",
        )
        .await
        .unwrap();
    seed::seed(&store, &SeedOptions::demo()).await.unwrap();
    store_core::db::schema::migrate(&mut client).await.unwrap();

    let clerk = store_as(CLERK_ROLE, &name).client().await.unwrap();
    store_core::db::schema::check_version(&clerk)
        .await
        .expect("the clerk still reads the schema version after the migration");
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![1, 2];
    record_purchase(&clerk, &sale)
        .await
        .expect("the clerk still records sales after the migration");
    let owner = store_as(OWNER_ROLE, &name);
    store_core::db::schema::check_version(&owner.client().await.unwrap())
        .await
        .expect("the owner still reads the schema version after the migration");
    analytics::fold(&owner.client().await.unwrap())
        .await
        .expect("the owner still folds after the migration");
}

/// The password reaches the server only as a SCRAM verifier computed by the client: with the
/// session asking the server to hash as md5, a cleartext password would be stored as md5.
#[tokio::test]
async fn role_passwords_are_sent_as_scram_verifiers() {
    let db = fresh_db().await;
    // A pool of its own, so that the session setting goes with it.
    let admin = Store::from_config(server().server.config(&db.name), "admin".into(), 1)
        .unwrap()
        .client()
        .await
        .unwrap();
    admin
        .batch_execute("SET password_encryption = 'md5'")
        .await
        .unwrap();
    let password = "a-password-for-the-manager";
    create_roles(
        &admin,
        RolePasswords {
            manager: Some(password),
            ..RolePasswords::default()
        },
    )
    .await
    .unwrap();
    let stored: String = admin
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&store_core::db::roles::MANAGER_ROLE],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert!(!stored.contains(password));
}

/// Large objects are creatable by PUBLIC by default; the read-only owner must not create any.
#[tokio::test]
async fn the_owner_cannot_create_large_objects() {
    let db = fresh_db().await;
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    let owner = store_as(OWNER_ROLE, &db.name).client().await.unwrap();
    for statement in [
        "SELECT pg_catalog.lo_create(0)::int8",
        "SELECT pg_catalog.lo_creat(-1)::int8",
        "SELECT pg_catalog.lo_from_bytea(0, '\\x00'::bytea)::int8",
    ] {
        assert!(
            denied(owner.execute(statement, &[]).await),
            "{statement} was allowed"
        );
    }
}
