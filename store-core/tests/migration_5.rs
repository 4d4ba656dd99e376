//! Migration 5 (payment, voids, refunds, shifts) against the real server: a database with
//! history at migration 4 (imported sales, till sales with cashiers, some still queued, the
//! roles its `store-core roles` set up) gains the new schema with every figure unchanged, and
//! those roles sell with a payment, void and refund right after it. In a process (and server) of
//! its own: it creates the cluster-wide roles, which would change the grants other tests compare.

use std::sync::atomic::{AtomicU32, Ordering};

use store_core::Store;
use store_core::db::schema::{self, BOOKKEEPING_SQL, MIGRATIONS};
use store_core::domain::analytics::{self, Filter};
use store_core::domain::checkout::{self, CustomerChoice, Payment, PaymentMethod, Sale};
use store_core::domain::refund::{self, ManagerPin, RefundRequest, VoidRequest};
use store_core::domain::shift;
use store_testkit::{TestDb, server};
use uuid::Uuid;

static NEXT: AtomicU32 = AtomicU32::new(0);

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
        "SELECT count(*)::text || ' ' || sum(total_amount)::text || ' ' || count(sale_key)::text || ' ' || count(till)::text || ' ' || count(cashier)::text || ' ' || sum(receipt_no)::text FROM purchase",
        "SELECT count(*)::text || ' ' || sum(unit_price)::text FROM purchase_product",
        "SELECT count(*)::text || ' ' || sum(purchases)::text FROM customer",
        "SELECT string_agg(number || ':' || name || ':' || has_pin, ',' ORDER BY number) FROM cashier",
        "SELECT string_agg(id || ':' || name || ':' || unit_price, ',' ORDER BY id) FROM product",
        "SELECT string_agg(purchases || 'x' || customers, ',' ORDER BY purchases) FROM stat_customer_histogram",
        "SELECT string_agg(product_id || '=' || units, ',' ORDER BY product_id) FROM stat_product_units",
        "SELECT string_agg(supermarket_id || '=' || purchases || '/' || revenue, ',' ORDER BY 1) FROM stat_branch_totals",
        "SELECT count(*)::text || ' ' || sum(purchases)::text || ' ' || sum(revenue)::text FROM stat_branch_hourly",
        "SELECT count(*)::text || ' ' || sum(purchases)::text FROM customer_branch",
        "SELECT count(*)::text FROM purchase_unfolded",
    ] {
        let value: Option<String> = client.query_one(sql, &[]).await.unwrap().get(0);
        out.push(format!("{sql} -> {value:?}"));
    }
    out
}

/// A database at migration 4, with history and the grants its `store-core roles` made.
async fn v4_db_with_history() -> TestDb {
    let db = empty_db().await;
    let client = db.store.client().await.unwrap();
    client.batch_execute(BOOKKEEPING_SQL).await.unwrap();
    for m in &MIGRATIONS[..4] {
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
            "INSERT INTO schema_version (version) VALUES (4);
             INSERT INTO supermarket (id, name) VALUES ('SMKT001', 'Harbour'), ('SMKT002', 'Old Town');
             INSERT INTO product (name, unit_price) VALUES ('milk', 1.50), ('bread', 2.00), ('eggs', 3.00);
             SELECT add_cashier(1, 'Ada', NULL), add_cashier(2, 'Bob', NULL);
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
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_manager') THEN CREATE ROLE icash_manager LOGIN; END IF;
             END $$;
             GRANT SELECT ON product, supermarket, customer, schema_migration, schema_version TO icash_clerk;
             GRANT EXECUTE ON FUNCTION record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz, text, integer, bigint, boolean),
                 last_receipt_no(text), cashier_roster() TO icash_clerk;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO icash_owner;
             REVOKE SELECT ON cashier FROM icash_owner;
             GRANT SELECT (number, name, has_pin, added_at, retired_at) ON cashier TO icash_owner;
             GRANT SELECT ON product, supermarket, schema_migration, schema_version TO icash_manager;
             GRANT SELECT (number, name, has_pin, added_at, retired_at) ON cashier TO icash_manager;
             GRANT EXECUTE ON FUNCTION add_cashier(integer, text, text), retire_cashier(integer) TO icash_manager;",
        )
        .await
        .unwrap();
    for i in 0..8i64 {
        client
            .execute(
                "SELECT * FROM record_purchase($1, 'SMKT002', $2, true, $3, NULL, NULL, 'T01', 1, $4, false)",
                &[&Uuid::new_v4(), &Uuid::new_v4(), &vec![1i32, 2 + (i % 2) as i32], &(i + 1)],
            )
            .await
            .unwrap();
        if i == 5 {
            // The last sales stay queued: the migration must keep them for the next fold.
            client
                .execute("SELECT fold_purchases(1000)", &[])
                .await
                .unwrap();
        }
    }
    db
}

fn as_role(db: &TestDb, role: &str) -> Store {
    let mut config = server().server.config(&db.name);
    config.user(role);
    Store::from_config(config, role.into(), 2).unwrap()
}

#[tokio::test]
async fn a_database_with_history_at_migration_4_gains_payments_voids_and_shifts_with_every_figure_unchanged()
 {
    let db = v4_db_with_history().await;
    let mut client = db.store.client().await.unwrap();
    // Read as the owner, which cannot fold: the queued sales stay queued through the migration.
    let owner = as_role(&db, "icash_owner");
    // The library reads only the latest schema (its dashboard reads the refunds of migration
    // 5), so the figures before are the counters as stored, and after the migration the
    // library's figures, read as the owner, are checked against a recount of the rows.
    let before = contents(&db).await;

    let applied = schema::migrate(&mut client).await.unwrap();
    // 5, then every later migration.
    assert_eq!(applied[0], "0005_payment_voids_refunds_shifts");
    assert_eq!(applied.len(), MIGRATIONS.len() - 4);
    assert_eq!(contents(&db).await, before);
    {
        let owner_client = owner.client().await.unwrap();
        let d = analytics::dashboard(&owner_client, &Filter::default(), 2, 100)
            .await
            .unwrap();
        let recount = analytics::dashboard_from_rows(&owner_client, &Filter::default(), 2, 100)
            .await
            .unwrap();
        assert_eq!(
            (
                d.unique_buyers,
                d.loyal_buyers,
                &d.loyal_page,
                &d.top_products,
                &d.branches
            ),
            (
                recount.unique_buyers,
                recount.loyal_buyers,
                &recount.loyal_page,
                &recount.top_products,
                &recount.branches
            )
        );
        assert!(d.unique_buyers > 0 && !d.top_products.is_empty());
    }
    let untouched: i64 = client
        .query_one(
            "SELECT count(*) FROM purchase WHERE payment_method IS NULL AND tendered IS NULL \
             AND change_due IS NULL AND shift_id IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(untouched, 38, "history has no payment and no shift");
    let new_rows: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM shift) + (SELECT count(*) FROM purchase_void) \
                  + (SELECT count(*) FROM refund) + (SELECT count(*) FROM cashier WHERE is_manager)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(new_rows, 0);

    // The roles set up before work right after it, without `store-core roles` again.
    let manager = as_role(&db, "icash_manager");
    store_core::domain::cashier::add_cashier_with(
        &manager.client().await.unwrap(),
        9,
        "Grace",
        Some("1357"),
        true,
    )
    .await
    .unwrap();
    let clerk = as_role(&db, "icash_clerk");
    let roster = store_core::domain::cashier::load_roster(&clerk.client().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        roster
            .iter()
            .map(|c| (c.cashier.number, c.is_manager))
            .collect::<Vec<_>>(),
        [(1, false), (2, false), (9, true)]
    );
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer())
        .at_till("T01", Some(2))
        .paid_with(Payment::cash(Some("10".parse().unwrap())));
    sale.product_ids = vec![1, 3];
    sale.receipt_no = Some(9);
    let receipt = checkout::submit(&clerk, &sale).await.unwrap();
    assert_eq!(receipt.payment_method, Some(PaymentMethod::Cash));
    assert_eq!(receipt.change_due, Some("5.50".parse().unwrap()));
    // A sale from before the migration, still queued, is no sale of this shift: it cannot be
    // voided, and is refunded whole; one folded is refunded a line; the new one is voided.
    let queued = refund::find_by_receipt(&clerk.client().await.unwrap(), "T01", 8)
        .await
        .unwrap()
        .unwrap();
    let void_of = |purchase_id| VoidRequest {
        void_key: Uuid::now_v7(),
        purchase_id,
        till: "T01".into(),
        cashier: Some(2),
        manager: 9,
        manager_pin: ManagerPin::new("1357"),
        reason: "wrong customer".into(),
    };
    assert_eq!(
        refund::void_purchase(&clerk, &void_of(queued.receipt.purchase_id)).await,
        Err(refund::RefundError::NotInThisShift)
    );
    refund::refund_purchase(
        &clerk,
        &RefundRequest {
            refund_key: Uuid::now_v7(),
            purchase_id: queued.receipt.purchase_id,
            product_ids: vec![],
            till: "T01".into(),
            cashier: Some(2),
            manager: 9,
            manager_pin: ManagerPin::new("1357"),
            reason: "wrong customer".into(),
        },
    )
    .await
    .unwrap();
    refund::void_purchase(&clerk, &void_of(receipt.purchase_id))
        .await
        .unwrap();
    let folded = refund::find_by_receipt(&clerk.client().await.unwrap(), "T01", 1)
        .await
        .unwrap()
        .unwrap();
    refund::refund_purchase(
        &clerk,
        &RefundRequest {
            refund_key: Uuid::now_v7(),
            purchase_id: folded.receipt.purchase_id,
            product_ids: vec![1],
            till: "T01".into(),
            cashier: Some(2),
            manager: 9,
            manager_pin: ManagerPin::new("1357"),
            reason: "sour".into(),
        },
    )
    .await
    .unwrap();
    let z = shift::close_shift(&clerk, "T01", Some(2)).await.unwrap();
    assert_eq!((z.sales, z.voids, z.refunds), (1, 1, 2));
    for min in [1, 2, 3] {
        let fast = analytics::dashboard_from_counters(&client, min, 100)
            .await
            .unwrap();
        let recount = analytics::dashboard_from_rows(&client, &Filter::default(), min, 100)
            .await
            .unwrap();
        assert_eq!(
            (
                fast.unique_buyers,
                fast.loyal_buyers,
                fast.loyal_page,
                fast.top_products,
                fast.branches
            ),
            (
                recount.unique_buyers,
                recount.loyal_buyers,
                recount.loyal_page,
                recount.top_products,
                recount.branches
            ),
            "min {min}"
        );
    }
    // The owner reads the new tables (and still not the PIN hashes).
    let owner = as_role(&db, "icash_owner").client().await.unwrap();
    let rows: i64 = owner
        .query_one(
            "SELECT (SELECT count(*) FROM shift) + (SELECT count(*) FROM refund_line) \
                  + (SELECT count(*) FROM purchase_void) + (SELECT count(*) FROM refund) \
                  + (SELECT count(*) FROM cashier WHERE is_manager)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 5 + queued.receipt.lines.len() as i64 + 1);
    assert!(
        owner
            .query("SELECT pin_hash FROM cashier", &[])
            .await
            .is_err()
    );
    assert!(
        owner
            .query("SELECT pin_hash FROM manager_secret", &[])
            .await
            .is_err()
    );
}
