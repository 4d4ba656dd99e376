//! Migration 4 (tills, cashiers, the catalog's changes) against the real server: a database with
//! history at migration 3 gains the new schema with every figure unchanged, and the roles its
//! `store-core roles` set up keep working. In a process (and server) of its own: it creates the
//! cluster-wide roles, which would change the grants other tests compare.

use std::sync::atomic::{AtomicU32, Ordering};

use store_core::Store;
use store_core::db::schema::{self, BOOKKEEPING_SQL, MIGRATIONS};
use store_core::domain::checkout::{self, CustomerChoice, Sale};
use store_testkit::{TestDb, server};
use uuid::Uuid;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A database with nothing in it (not a copy of the migrated template).
async fn empty_db() -> TestDb {
    let server = &server().server;
    let name = format!(
        "m{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let admin = store_core::db::store::connect_one(&server.config("postgres"))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .unwrap();
    let url = format!(
        "host={} port={} user=postgres dbname={name}",
        server.socket_dir().display(),
        server.port()
    );
    let store = Store::from_config(server.config(&name), name.clone(), 16).unwrap();
    TestDb { store, name, url }
}

/// Everything a purchase-holding database holds, in figures that must survive a migration.
async fn contents(db: &TestDb) -> Vec<String> {
    let client = db.store.client().await.unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*)::text || ' ' || sum(total_amount)::text || ' ' || count(sale_key)::text FROM purchase",
        "SELECT count(*)::text || ' ' || sum(unit_price)::text FROM purchase_product",
        "SELECT count(*)::text || ' ' || sum(purchases)::text FROM customer",
        "SELECT string_agg(id || ':' || name || ':' || unit_price, ',' ORDER BY id) FROM product",
        "SELECT string_agg(id, ',' ORDER BY id) FROM supermarket",
        "SELECT string_agg(purchases || 'x' || customers, ',' ORDER BY purchases) FROM stat_customer_histogram",
        "SELECT string_agg(product_id || '=' || units, ',' ORDER BY product_id) FROM stat_product_units",
        "SELECT string_agg(supermarket_id || '=' || purchases || '/' || revenue, ',' ORDER BY 1) FROM stat_branch_totals",
        "SELECT count(*)::text || ' ' || sum(purchases)::text FROM stat_branch_hourly",
        "SELECT count(*)::text || ' ' || sum(purchases)::text FROM customer_branch",
        "SELECT count(*)::text FROM purchase_unfolded",
    ] {
        let value: Option<String> = client.query_one(sql, &[]).await.unwrap().get(0);
        out.push(format!("{sql} -> {value:?}"));
    }
    out
}

/// A database at migration 3 (the schema before tills and cashiers), with history: imported
/// sales, till sales through its record_purchase, the counters folded, and the roles its
/// `store-core roles` granted.
async fn v3_db_with_history() -> TestDb {
    let db = empty_db().await;
    let client = db.store.client().await.unwrap();
    client.batch_execute(BOOKKEEPING_SQL).await.unwrap();
    for m in &MIGRATIONS[..3] {
        client.batch_execute(m.sql).await.unwrap();
        client
            .execute(
                "INSERT INTO schema_migration (version, name) VALUES ($1, $2)",
                &[&m.version(), &m.name],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(
            "INSERT INTO schema_version (version) VALUES (3);
             INSERT INTO supermarket (id, name) VALUES ('SMKT001', 'Harbour'), ('SMKT002', 'Old Town');
             INSERT INTO product (name, unit_price) VALUES ('milk', 1.50), ('bread', 2.00), ('eggs', 3.00);
             INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount)
                 SELECT 'SMKT00' || (1 + i % 2), timestamptz '2025-05-01 10:00+00' + i * interval '1 hour',
                        ('00000000-0000-4000-8000-' || lpad((i % 7)::text, 12, '0'))::uuid, 3.50
                 FROM generate_series(1, 30) AS i;
             INSERT INTO purchase_product (purchase_id, product_id, unit_price)
                 SELECT id, p, CASE p WHEN 1 THEN 1.50 ELSE 2.00 END FROM purchase, unnest(ARRAY[1, 2]) AS p;
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM purchase;
             DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_clerk') THEN CREATE ROLE icash_clerk LOGIN; END IF;
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_owner') THEN CREATE ROLE icash_owner LOGIN; END IF;
             END $$;
             GRANT SELECT ON product, supermarket, customer, schema_migration, schema_version TO icash_clerk;
             GRANT EXECUTE ON FUNCTION record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz) TO icash_clerk;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO icash_owner;
             GRANT EXECUTE ON FUNCTION fold_purchases(integer) TO icash_owner;",
        )
        .await
        .unwrap();
    for i in 0..6 {
        client
            .execute(
                "SELECT * FROM record_purchase($1, 'SMKT002', $2, true, $3, NULL, NULL)",
                &[&Uuid::new_v4(), &Uuid::new_v4(), &vec![1i32, 2 + (i % 2)]],
            )
            .await
            .unwrap();
    }
    client
        .execute("SELECT fold_purchases(1000)", &[])
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn a_database_with_history_at_migration_3_gains_tills_and_cashiers_with_every_figure_unchanged()
 {
    use store_core::domain::{analytics, catalog};
    let db = v3_db_with_history().await;
    let mut client = db.store.client().await.unwrap();
    // The library reads only the latest schema (its dashboard reads the refunds of migration
    // 5), so the figures before are the counters as stored, and after the migration the
    // library's figures are checked against a recount of the rows.
    let before = contents(&db).await;

    let applied = schema::migrate(&mut client).await.unwrap();
    // 0004 and the migrations after it (each kept every figure: see migration_5.rs).
    assert_eq!(applied[0], "0004_tills_cashiers_catalog");
    assert_eq!(applied.len(), MIGRATIONS.len() - 3);
    assert_eq!(contents(&db).await, before);
    let r = analytics::report(&client, 2).await.unwrap();
    let d = analytics::dashboard(&client, &analytics::Filter::default(), 2, 100)
        .await
        .unwrap();
    let recount = analytics::dashboard_from_rows(&client, &analytics::Filter::default(), 2, 100)
        .await
        .unwrap();
    assert_eq!(
        (r.unique_buyers, &r.loyal_buyers, &r.top_products),
        (
            recount.unique_buyers,
            &recount.loyal_page,
            &recount.top_products
        )
    );
    assert_eq!(
        (d.unique_buyers, d.loyal_buyers, &d.loyal_page, &d.branches),
        (
            recount.unique_buyers,
            recount.loyal_buyers,
            &recount.loyal_page,
            &recount.branches
        )
    );
    assert!(d.unique_buyers > 0 && !d.top_products.is_empty());
    let catalog_after = catalog::load_catalog(&client).await.unwrap();
    assert_eq!(
        catalog_after.products.len(),
        3,
        "every product is still on sale"
    );
    assert!(catalog_after.branches.iter().all(|b| b.timezone.is_none()));
    let history: i64 = client
        .query_one(
            "SELECT count(*) FROM purchase \
             WHERE till IS NULL AND cashier IS NULL AND receipt_no IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        history, 36,
        "history has no till, cashier or receipt number"
    );

    // The roles set up before keep working without `store-core roles` again.
    let as_role = |role: &str| {
        let mut config = server().server.config(&db.name);
        config.user(role);
        Store::from_config(config, role.into(), 1).unwrap()
    };
    let clerk = as_role("icash_clerk").client().await.unwrap();
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer()).at_till("T01", None);
    sale.product_ids = vec![1, 3];
    sale.receipt_no = Some(1);
    let receipt = checkout::record_purchase(&clerk, &sale).await.unwrap();
    assert_eq!(receipt.receipt_number().as_deref(), Some("T01-000001"));
    assert_eq!(checkout::last_receipt_no(&clerk, "T01").await.unwrap(), 1);
    assert!(
        store_core::domain::cashier::load_roster(&clerk)
            .await
            .unwrap()
            .is_empty()
    );
    let owner = as_role("icash_owner").client().await.unwrap();
    let cashiers: i64 = owner
        .query_one("SELECT count(name) FROM cashier", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cashiers, 0);
    assert!(
        owner
            .query("SELECT pin_hash FROM cashier", &[])
            .await
            .is_err()
    );
}
