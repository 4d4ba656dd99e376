//! Migration 6 (day-level counters) against the real server: a database with history, part of
//! it folded and part still queued, gains the day counters holding exactly the folded history;
//! the next fold adds the queue; every figure of a range of days then equals a recount of the
//! rows, and the owner role set up before reads them. In a process (and server) of its own: it
//! creates the cluster-wide roles, which would change the grants other tests compare.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use store_core::Store;
use store_core::db::schema::{self, BOOKKEEPING_SQL, MIGRATIONS};
use store_core::domain::analytics::{self, Filter, Period};
use store_core::domain::time_zone::Tz;
use store_testkit::{TestDb, server};

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn empty_db() -> TestDb {
    let server = &server().server;
    let name = format!(
        "m6_{}_{}",
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

/// The database at the migration before 6, with two months of history: most of it folded, the
/// last sales still queued, and the roles `store-core roles` set up.
async fn db_before_6_with_history() -> TestDb {
    let db = empty_db().await;
    let client = db.store.client().await.unwrap();
    client.batch_execute(BOOKKEEPING_SQL).await.unwrap();
    let before: Vec<_> = MIGRATIONS.iter().take_while(|m| m.version() < 6).collect();
    for m in &before {
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
        .batch_execute(&format!(
            "INSERT INTO schema_version (version) VALUES ({});
             INSERT INTO supermarket (id, name) VALUES ('SMKT001', 'Harbour'), ('SMKT002', 'Old Town');
             INSERT INTO product (name, unit_price) VALUES ('milk', 1.50), ('bread', 2.00), ('eggs', 3.00);
             INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount)
                 SELECT 'SMKT00' || (1 + i % 2), timestamptz '2025-10-01 00:10+00' + i * interval '37 minutes',
                        ('00000000-0000-4000-8000-' || lpad((i % 41)::text, 12, '0'))::uuid, 0
                 FROM generate_series(1, 2400) AS i;
             INSERT INTO purchase_product (purchase_id, product_id, unit_price)
                 SELECT pu.id, pr.id, pr.unit_price FROM purchase pu JOIN product pr
                 ON pr.id <= 1 + pu.id % 3;
             UPDATE purchase pu SET total_amount = (SELECT sum(unit_price) FROM purchase_product pp WHERE pp.purchase_id = pu.id);
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM purchase WHERE id <= 2300;
             SELECT fold_purchases(100000);
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM purchase WHERE id > 2300;
             DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icash_owner') THEN CREATE ROLE icash_owner LOGIN; END IF;
             END $$;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO icash_owner;
             REVOKE SELECT ON cashier FROM icash_owner;
             GRANT SELECT (number, name, has_pin, added_at, retired_at) ON cashier TO icash_owner;
             GRANT EXECUTE ON FUNCTION fold_purchases(integer) TO icash_owner;",
            before.last().unwrap().version()
        ))
        .await
        .unwrap();
    db
}

/// Purchases, revenue and items of [from, to] in `zone`, and units per product, from the rows.
async fn recount(
    client: &deadpool_postgres::Object,
    from: NaiveDate,
    to: NaiveDate,
    zone: Tz,
) -> ((i64, Decimal, i64, i64), Vec<(i32, i64, Decimal)>) {
    let period = "p.created_at >= ($1::date::timestamp AT TIME ZONE $3) \
                  AND p.created_at < (($2::date + 1)::timestamp AT TIME ZONE $3)";
    let r = client
        .query_one(
            &format!(
                "SELECT count(*), coalesce(sum(p.total_amount), 0), \
                   coalesce(sum((SELECT count(*) FROM purchase_product pp WHERE pp.purchase_id = p.id)), 0)::int8, \
                   count(DISTINCT p.user_id) FROM purchase p WHERE {period}"
            ),
            &[&from, &to, &zone.name()],
        )
        .await
        .unwrap();
    let products = client
        .query(
            &format!(
                "SELECT pp.product_id, count(*), sum(pp.unit_price) FROM purchase p \
                 JOIN purchase_product pp ON pp.purchase_id = p.id WHERE {period} \
                 GROUP BY 1 ORDER BY 2 DESC, 3 DESC"
            ),
            &[&from, &to, &zone.name()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    ((r.get(0), r.get(1), r.get(2), r.get(3)), products)
}

#[tokio::test]
async fn history_folded_before_migration_6_is_in_the_day_counters_and_the_queue_follows() {
    let db = db_before_6_with_history().await;
    let mut client = db.store.client().await.unwrap();
    let applied = schema::migrate(&mut client).await.unwrap();
    assert_eq!(applied, ["0006_day_counters"]);
    let queued: i64 = client
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 100, "the migration folds nothing");
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new()
    );
    let days: i64 = client
        .query_one("SELECT sum(purchases)::int8 FROM stat_branch_daily", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(days, 2300);

    // Read as the owner set up before the migration: it folds, then reads the new counters.
    let mut config = server().server.config(&db.name);
    config.user("icash_owner");
    let owner = Store::from_config(config, "owner".into(), 1)
        .unwrap()
        .client()
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let date = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    for zone in [Tz::UTC, Tz::Europe__Paris, Tz::Asia__Kolkata] {
        for (from, to) in [
            (date(10, 1), date(11, 30)),
            (date(10, 26), date(10, 26)),
            (date(10, 3), date(11, 2)),
        ] {
            let filter = Filter {
                supermarket_id: None,
                period: Period::Range { from, to },
                zone,
            };
            let got = analytics::insights(&owner, &filter, now).await.unwrap();
            let (summary, products) = recount(&client, from, to, zone).await;
            let s = &got.summary;
            assert_eq!(
                (s.purchases, s.revenue, s.items, s.unique_buyers),
                summary,
                "{from}..{to} in {zone}"
            );
            let got_products: Vec<(i32, i64, Decimal)> = got
                .products
                .iter()
                .map(|p| (p.product_id, p.units, p.revenue))
                .collect();
            assert_eq!(got_products, products, "{from}..{to} in {zone}");
        }
    }
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new(),
        "the owner's fold counted the queue"
    );
    let queued: i64 = client
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 0);
}
