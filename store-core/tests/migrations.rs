//! Numbered migrations against the real server: an empty database to latest, the previous
//! program's databases (schema_version 1 and 2, with data) to latest with nothing lost, a second
//! run that does nothing, schema.sql equal to what the migrations make, and named servers that
//! are checked, never migrated, by every other program.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use store_core::db::schema::{self, BOOKKEEPING_SQL, MIGRATIONS, SCHEMA_SQL, SCHEMA_VERSION};
use store_core::domain::checkout::{self, CustomerChoice, Sale};
use store_core::{Error, Store};
use store_testkit::{TestDb, connect_options, server};
use uuid::Uuid;

/// The whole schema.sql of the program before numbered migrations (schema_version 2), as it
/// applied it.
const LEGACY_SCHEMA_V2: &str = include_str!("legacy/schema_v2.sql");

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

/// `pg_dump --schema-only` of `db`, without the lines that differ between any two dumps.
fn schema_dump(db: &TestDb) -> String {
    let server = &server().server;
    // Beside the server binaries (followed through a symbolic link to them), else on PATH.
    let postgres = server.bindir().join("postgres");
    let pg_dump = std::fs::canonicalize(&postgres)
        .unwrap_or(postgres)
        .with_file_name("pg_dump");
    let pg_dump = if pg_dump.is_file() {
        pg_dump
    } else {
        "pg_dump".into()
    };
    let out = Command::new(pg_dump)
        .args(["--schema-only", "--no-comments", "-U", "postgres", "-h"])
        .arg(server.socket_dir())
        .args(["-p", &server.port().to_string(), &db.name])
        .output()
        .expect("running pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn scalar_i64(db: &TestDb, sql: &str) -> i64 {
    db.store
        .client()
        .await
        .unwrap()
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

async fn applied_versions(db: &TestDb) -> Vec<i32> {
    db.store
        .client()
        .await
        .unwrap()
        .query("SELECT version FROM schema_migration ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn an_empty_database_comes_to_latest_and_a_second_run_does_nothing() {
    let db = empty_db().await;
    let mut client = db.store.client().await.unwrap();
    assert_eq!(schema::current_version(&client).await.unwrap(), 0);
    let applied = schema::migrate(&mut client).await.unwrap();
    let every: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
    assert_eq!(applied, every);
    assert_eq!(
        schema::current_version(&client).await.unwrap(),
        SCHEMA_VERSION
    );
    assert_eq!(
        applied_versions(&db).await,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(
        scalar_i64(&db, "SELECT version::int8 FROM schema_version").await,
        i64::from(SCHEMA_VERSION)
    );
    let before = schema_dump(&db);
    assert!(schema::migrate(&mut client).await.unwrap().is_empty());
    assert_eq!(applied_versions(&db).await.len(), MIGRATIONS.len());
    assert_eq!(schema_dump(&db), before);
}

#[tokio::test]
async fn schema_sql_is_exactly_what_the_migrations_make() {
    let migrated = empty_db().await;
    schema::migrate(&mut migrated.store.client().await.unwrap())
        .await
        .unwrap();
    let written = empty_db().await;
    let client = written.store.client().await.unwrap();
    client.batch_execute(BOOKKEEPING_SQL).await.unwrap();
    client.batch_execute(SCHEMA_SQL).await.unwrap();
    let (migrated, written) = (schema_dump(&migrated), schema_dump(&written));
    assert!(migrated.contains("CREATE FUNCTION public.record_purchase"));
    if migrated != written {
        let first = migrated
            .lines()
            .zip(written.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let context = |dump: &str| {
            dump.lines()
                .skip(first.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "schema.sql and the migrations differ from line {}:\n--- migrations\n{}\n--- schema.sql\n{}",
            first + 1,
            context(&migrated),
            context(&written)
        );
    }
}

/// What the previous program left: its schema.sql applied, a few sales through its own
/// record_purchase, history without sale keys, and the counters folded.
async fn legacy_db_with_data() -> TestDb {
    let db = empty_db().await;
    let client = db.store.client().await.unwrap();
    client.batch_execute(LEGACY_SCHEMA_V2).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO supermarket (id) VALUES ('SMKT001'), ('SMKT002');
             INSERT INTO product (name, unit_price) VALUES ('milk', 1.50), ('bread', 2.00), ('eggs', 3.00);
             INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount)
                 SELECT 'SMKT00' || (1 + i % 2), timestamptz '2025-05-01 10:00+00' + i * interval '1 hour',
                        ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 1.50
                 FROM generate_series(1, 20) AS i;
             INSERT INTO purchase_product (purchase_id, product_id, unit_price)
                 SELECT id, 1, 1.50 FROM purchase;
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM purchase;",
        )
        .await
        .unwrap();
    for i in 0..5 {
        client
            .execute(
                "SELECT * FROM record_purchase($1, 'SMKT002', $2, true, $3, NULL, NULL)",
                &[&Uuid::new_v4(), &Uuid::new_v4(), &vec![1i32, 2 + (i % 2)]],
            )
            .await
            .unwrap();
    }
    client
        .execute("SELECT fold_purchases()", &[])
        .await
        .unwrap();
    db
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

#[tokio::test]
async fn a_database_of_the_previous_program_comes_to_latest_with_nothing_lost() {
    let db = legacy_db_with_data().await;
    let before = contents(&db).await;
    let mut client = db.store.client().await.unwrap();
    assert_eq!(schema::current_version(&client).await.unwrap(), 2);
    let applied = schema::migrate(&mut client).await.unwrap();
    let after_2: Vec<&str> = MIGRATIONS
        .iter()
        .filter(|m| m.version() > 2)
        .map(|m| m.name)
        .collect();
    assert_eq!(
        applied, after_2,
        "migrations 1 and 2 are recorded, not re-run"
    );
    assert_eq!(
        applied_versions(&db).await,
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(contents(&db).await, before);

    // The same schema as a database migrated from empty.
    let fresh = empty_db().await;
    schema::migrate(&mut fresh.store.client().await.unwrap())
        .await
        .unwrap();
    assert!(
        schema_dump(&db) == schema_dump(&fresh),
        "an upgraded database's schema differs from a fresh one's"
    );

    // And it works: a sale through the new checkout, counted by the new fold.
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![2, 3];
    let receipt = checkout::submit(&db.store, &sale).await.unwrap();
    assert!(!receipt.replayed);
    let report = store_core::domain::analytics::report(&client, 1)
        .await
        .unwrap();
    assert_eq!(report.unique_buyers, 20 + 5 + 1);
    assert!(schema::migrate(&mut client).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_version_1_database_migrates_to_the_partial_sale_key_index_and_keeps_keys_unique() {
    let db = legacy_db_with_data().await;
    let mut client = db.store.client().await.unwrap();
    // What schema version 1 had: a unique constraint over every row, NULLs included.
    client
        .batch_execute(
            "DROP INDEX purchase_by_sale_key;
             ALTER TABLE purchase ADD CONSTRAINT purchase_sale_key_key UNIQUE (sale_key);
             UPDATE schema_version SET version = 1;",
        )
        .await
        .unwrap();
    let applied = schema::migrate(&mut client).await.unwrap();
    assert_eq!(applied.first(), Some(&"0002_partial_sale_key_index"));

    let indexes: Vec<String> = client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'purchase' AND indexdef LIKE '%sale_key%'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(
        indexes[0].contains("UNIQUE") && indexes[0].contains("WHERE (sale_key IS NOT NULL)"),
        "{indexes:?}"
    );
    let imported_rows_without_a_key: i64 = client
        .query_one("SELECT count(*) FROM purchase WHERE sale_key IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(imported_rows_without_a_key, 20);

    let mut s = Sale::open("SMKT001", CustomerChoice::new_customer());
    s.product_ids = vec![1];
    let first = checkout::submit(&db.store, &s).await.unwrap();
    let again = checkout::submit(&db.store, &s).await.unwrap();
    assert_eq!(first.purchase_id, again.purchase_id);
    assert!(again.replayed);
    let duplicate = client
        .execute(
            "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount, sale_key) \
             VALUES ('SMKT001', now(), $1, 1, $2)",
            &[&Uuid::new_v4(), &s.sale_key],
        )
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.as_db_error().map(|e| e.code().code()),
        Some("23505")
    );
}

#[tokio::test]
async fn a_stored_time_outside_the_window_stops_the_migration_with_nothing_applied() {
    let db = legacy_db_with_data().await;
    let mut client = db.store.client().await.unwrap();
    client
        .batch_execute("UPDATE purchase SET created_at = 'infinity' WHERE id = 3")
        .await
        .unwrap();
    let e = schema::migrate(&mut client).await.unwrap_err().to_string();
    assert!(
        e.contains("0003_trust_the_database")
            && e.contains("1 purchase(s) have a time outside [2000-01-01, 2100-01-01)")
            && e.contains("purchase 3 at infinity"),
        "{e}"
    );
    assert_eq!(schema::current_version(&client).await.unwrap(), 2);
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'purchase_created_at_plausible'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn on_a_named_server_other_programs_check_the_version_and_change_nothing() {
    let db = empty_db().await;
    let e = store_core::startup::open(&connect_options(&db))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::SchemaTooOld { found: 0, needed } if needed == SCHEMA_VERSION),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "the database is at schema 0, this program needs {SCHEMA_VERSION}: run `store-core migrate`"
        )
    );
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        )
        .await,
        0,
        "connecting created something"
    );

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_store-core"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env_remove("PGHOST")
            .env_remove("PGDATABASE")
            .output()
            .unwrap()
    };
    let refused = run(&["catalog"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("run `store-core migrate`"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let first = run(&["migrate"]);
    assert!(first.status.success(), "{first:?}");
    let first = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.contains(&format!(
            "schema version {SCHEMA_VERSION}: applied 0001_initial"
        )),
        "{first}"
    );
    let second = run(&["migrate"]);
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("already in place, nothing applied"));
    store_core::startup::open(&connect_options(&db))
        .await
        .unwrap();
    assert!(run(&["catalog"]).status.success());

    // A database newer than the program is refused too, and left alone.
    db.store
        .client()
        .await
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO schema_migration (version, name) VALUES ({}, 'from_the_future')",
            SCHEMA_VERSION + 1
        ))
        .await
        .unwrap();
    let e = store_core::startup::open(&connect_options(&db))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::SchemaTooNew { .. }), "{e}");
}
