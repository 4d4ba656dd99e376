//! The attacks of issue 11 against the real server: a plain login role before and after
//! `store-core roles`, a temporary domain named like a type `record_purchase` declares, and a
//! closer function in `public` once PUBLIC may create there. Each attack is first shown to work
//! against a function written the old way (SECURITY DEFINER owned by a superuser, no pinned
//! search_path), so that these tests would catch its return.

use std::sync::atomic::{AtomicU32, Ordering};

use store_core::Store;
use store_core::db::roles::{CLERK_ROLE, RolePasswords, create_roles};
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db, server};
use tokio_postgres::error::SqlState;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A login role of its own (roles belong to the whole server, shared by parallel tests).
async fn attacker(db: &TestDb, member_of: Option<&str>) -> String {
    let name = format!(
        "mallory_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let admin = db.store.client().await.unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE {name} LOGIN"))
        .await
        .unwrap();
    if let Some(role) = member_of {
        admin
            .batch_execute(&format!("GRANT {role} TO {name}"))
            .await
            .unwrap();
    }
    name
}

async fn connect_as(role: &str, db: &TestDb) -> deadpool_postgres::Object {
    let mut config = server().server.config(&db.name);
    config.user(role);
    Store::from_config(config, role.into(), 1)
        .unwrap()
        .client()
        .await
        .unwrap()
}

async fn is_superuser(db: &TestDb, role: &str) -> bool {
    db.store
        .client()
        .await
        .unwrap()
        .query_one("SELECT rolsuper FROM pg_roles WHERE rolname = $1", &[&role])
        .await
        .unwrap()
        .get(0)
}

fn code(result: Result<impl Sized, tokio_postgres::Error>) -> Option<SqlState> {
    result.err().and_then(|e| e.code().cloned())
}

/// What an attacker must never be able to do, whatever it tried before.
async fn assert_gained_nothing(db: &TestDb, role: &str) {
    assert!(!is_superuser(db, role).await, "{role} became superuser");
    assert!(
        !is_superuser(db, "icash_app").await,
        "icash_app became superuser"
    );
    let client = connect_as(role, db).await;
    for statement in [
        "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount) VALUES ('SMKT001', now(), gen_random_uuid(), 1)",
        "UPDATE product SET unit_price = 0.01",
        "DELETE FROM customer",
        "UPDATE stat_product_units SET units = 0",
        "INSERT INTO shift (till, opened_at) VALUES ('T01', now())",
        "UPDATE shift SET figures = '{}'",
        "DELETE FROM purchase_void",
        "DELETE FROM refund_line",
        "SELECT retract_from_counters(1, NULL, 1, true)",
    ] {
        assert_eq!(
            code(client.execute(statement, &[]).await),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "{role} could run: {statement}"
        );
    }
}

const SALE: &str = "SELECT * FROM record_purchase(gen_random_uuid(), 'SMKT001', \
     gen_random_uuid(), true, ARRAY[1, 2], NULL, NULL, NULL, NULL, NULL, false)";

#[tokio::test]
async fn everything_belongs_to_a_role_that_cannot_log_in_and_no_definer_path_is_open() {
    let db = fresh_db().await;
    let client = db.store.client().await.unwrap();
    let role: (bool, bool) = {
        let r = client
            .query_one(
                "SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'icash_app'",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(role, (false, false), "icash_app: (superuser, can log in)");
    let foreign_owners: Vec<String> = client
        .query(
            "SELECT c.relname || ' ' || pg_get_userbyid(c.relowner) FROM pg_class c \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S') \
               AND pg_get_userbyid(c.relowner) <> 'icash_app' \
             UNION ALL \
             SELECT p.proname || ' ' || pg_get_userbyid(p.proowner) FROM pg_proc p \
             WHERE p.pronamespace = 'public'::regnamespace \
               AND pg_get_userbyid(p.proowner) <> 'icash_app'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(foreign_owners.is_empty(), "{foreign_owners:?}");
    let definers: Vec<(String, Option<Vec<String>>, bool)> = client
        .query(
            "SELECT proname, proconfig, has_function_privilege('public', oid, 'EXECUTE') \
             FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prosecdef",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut names: Vec<&str> = definers.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add_branch",
            "add_cashier",
            "add_product",
            "cashier_roster",
            "close_shift",
            "current_shift",
            "find_purchase",
            "fold_purchases",
            "last_receipt_no",
            "record_purchase",
            "refund_purchase",
            "rename_branch",
            "retire_cashier",
            "set_product_price",
            "set_product_retired",
            "till_shifts",
            "void_purchase",
        ],
        "{definers:?}"
    );
    for (name, config, public_may_execute) in definers {
        assert_eq!(
            config,
            Some(vec!["search_path=pg_catalog, pg_temp".to_string()]),
            "{name}"
        );
        assert!(!public_may_execute, "PUBLIC may execute {name}");
    }
}

#[tokio::test]
async fn a_plain_login_role_gains_nothing_before_or_after_store_core_roles() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let mallory = attacker(&db, None).await;
    {
        let client = connect_as(&mallory, &db).await;
        assert_eq!(
            code(client.query(SALE, &[]).await),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "a bare migration leaves record_purchase open"
        );
        assert_eq!(
            code(client.query("SELECT fold_purchases(10)", &[]).await),
            Some(SqlState::INSUFFICIENT_PRIVILEGE)
        );
    }
    assert_gained_nothing(&db, &mallory).await;

    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    let client = connect_as(&mallory, &db).await;
    assert_eq!(
        code(client.query(SALE, &[]).await),
        Some(SqlState::INSUFFICIENT_PRIVILEGE)
    );
    assert_eq!(
        code(client.batch_execute("CREATE TEMP TABLE t (x int)").await),
        Some(SqlState::INSUFFICIENT_PRIVILEGE),
        "PUBLIC still has TEMP"
    );
    assert_eq!(
        code(
            client
                .batch_execute("CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
                .await
        ),
        Some(SqlState::INSUFFICIENT_PRIVILEGE),
        "PUBLIC still has CREATE on public"
    );
    assert_gained_nothing(&db, &mallory).await;
}

/// Makes `role` superuser when run by a superuser; quietly does nothing for anyone else.
fn escalation(schema: &str, role: &str, signature: &str, result: &str) -> String {
    format!(
        "CREATE FUNCTION {schema}.{signature} LANGUAGE plpgsql AS $f$
         BEGIN
             BEGIN
                 EXECUTE 'ALTER ROLE {role} SUPERUSER';
             EXCEPTION WHEN insufficient_privilege THEN NULL;
             END;
             RETURN {result};
         END $f$;"
    )
}

#[tokio::test]
async fn a_temporary_domain_does_not_reach_inside_record_purchase() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let admin = db.store.client().await.unwrap();
    create_roles(&admin, RolePasswords::default())
        .await
        .unwrap();
    let mallory = attacker(&db, Some(CLERK_ROLE)).await;
    // A database where TEMP was left to PUBLIC (or granted): the function must hold by itself.
    admin
        .batch_execute(&format!(
            "GRANT TEMPORARY ON DATABASE {} TO {mallory};
             CREATE FUNCTION public.old_style_definer() RETURNS timestamptz
             LANGUAGE plpgsql SECURITY DEFINER AS $f$
             DECLARE v timestamptz := now();
             BEGIN RETURN v; END $f$;
             GRANT EXECUTE ON FUNCTION public.old_style_definer() TO {mallory};",
            db.name
        ))
        .await
        .unwrap();
    let plant = format!(
        "{}
         CREATE DOMAIN pg_temp.timestamptz AS pg_catalog.timestamptz CHECK (pg_temp.escalate());
         CREATE DOMAIN pg_temp.numeric AS pg_catalog.numeric CHECK (pg_temp.escalate());
         CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.escalate());
         CREATE DOMAIN pg_temp.interval AS pg_catalog.interval CHECK (pg_temp.escalate());
         CREATE DOMAIN pg_temp.float8 AS pg_catalog.float8 CHECK (pg_temp.escalate());",
        escalation("pg_temp", &mallory, "escalate() RETURNS boolean", "true")
    );

    // The attack works against a definer function written the old way...
    let client = connect_as(&mallory, &db).await;
    client.batch_execute(&plant).await.unwrap();
    client
        .query("SELECT public.old_style_definer()", &[])
        .await
        .unwrap();
    assert!(
        is_superuser(&db, &mallory).await,
        "the demonstration failed: the temporary domain did not reach the old-style function"
    );
    admin
        .batch_execute(&format!("ALTER ROLE {mallory} NOSUPERUSER"))
        .await
        .unwrap();
    drop(client);

    // ...and not against record_purchase.
    let client = connect_as(&mallory, &db).await;
    client.batch_execute(&plant).await.unwrap();
    let rows = client.query(SALE, &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_gained_nothing(&db, &mallory).await;
}

#[tokio::test]
async fn a_closer_function_in_public_does_not_reach_inside_record_purchase() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let admin = db.store.client().await.unwrap();
    create_roles(&admin, RolePasswords::default())
        .await
        .unwrap();
    let mallory = attacker(&db, Some(CLERK_ROLE)).await;
    // PostgreSQL 14 and older (and clusters upgraded from them) let PUBLIC create in public.
    admin
        .batch_execute(&format!(
            "GRANT CREATE ON SCHEMA public TO PUBLIC;
             CREATE FUNCTION public.old_style_definer(p integer[]) RETURNS integer
             LANGUAGE plpgsql SECURITY DEFINER AS $f$
             BEGIN RETURN cardinality(p); END $f$;
             GRANT EXECUTE ON FUNCTION public.old_style_definer(integer[]) TO {mallory};"
        ))
        .await
        .unwrap();
    let client = connect_as(&mallory, &db).await;
    // cardinality(integer[]) matches an integer[] argument more closely than pg_catalog's
    // cardinality(anyarray), wherever it stands in the path.
    client
        .batch_execute(&escalation(
            "public",
            &mallory,
            "cardinality(a integer[]) RETURNS integer",
            "pg_catalog.cardinality(a)",
        ))
        .await
        .unwrap();

    client
        .query("SELECT public.old_style_definer(ARRAY[1, 2])", &[])
        .await
        .unwrap();
    assert!(
        is_superuser(&db, &mallory).await,
        "the demonstration failed: the closer function did not reach the old-style function"
    );
    admin
        .batch_execute(&format!("ALTER ROLE {mallory} NOSUPERUSER"))
        .await
        .unwrap();

    for path in ["public, pg_catalog", "\"$user\", public"] {
        client
            .batch_execute(&format!("SET search_path = {path}"))
            .await
            .unwrap();
        let rows = client.query(SALE, &[]).await.unwrap();
        assert_eq!(rows.len(), 1);
        client
            .query("SELECT fold_purchases(1)", &[])
            .await
            .unwrap_err();
    }
    assert_gained_nothing(&db, &mallory).await;
    admin
        .batch_execute(
            "DROP FUNCTION public.cardinality(integer[]); REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        )
        .await
        .unwrap();
}

/// The till's role voids, refunds and closes shifts through their functions only: it writes
/// none of their tables, nor calls the internal functions (the counters' retraction, the shift's
/// opening) that those functions use; the owner executes none of them.
#[tokio::test]
async fn a_clerk_voids_refunds_and_closes_shifts_through_the_functions_only() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let admin = db.store.client().await.unwrap();
    create_roles(&admin, RolePasswords::default())
        .await
        .unwrap();
    admin
        .batch_execute("SELECT add_cashier(90, 'Grace', NULL, true, '2468')")
        .await
        .unwrap();
    let till = attacker(&db, Some(CLERK_ROLE)).await;
    let client = connect_as(&till, &db).await;
    let sale = |receipt_no: i64| {
        format!(
            "SELECT purchase_id FROM record_purchase(gen_random_uuid(), 'SMKT001', \
             gen_random_uuid(), true, ARRAY[1, 2], NULL, NULL, 'T01', NULL, {receipt_no}, false, \
             'cash', 100)"
        )
    };
    let first: i64 = client.query_one(&sale(1), &[]).await.unwrap().get(0);
    let second: i64 = client.query_one(&sale(2), &[]).await.unwrap().get(0);
    client
        .query(
            "SELECT * FROM void_purchase(gen_random_uuid(), $1, 'T01', NULL, 90, '2468', 'wrong')",
            &[&first],
        )
        .await
        .unwrap();
    client
        .query(
            "SELECT * FROM refund_purchase(gen_random_uuid(), $1, ARRAY[2], 'T01', NULL, 90, '2468', 'broken')",
            &[&second],
        )
        .await
        .unwrap();
    client
        .query("SELECT * FROM find_purchase('T01', 2)", &[])
        .await
        .unwrap();
    client
        .query("SELECT * FROM current_shift('T01')", &[])
        .await
        .unwrap();
    client
        .query("SELECT * FROM close_shift('T01', NULL)", &[])
        .await
        .unwrap();
    for statement in [
        "INSERT INTO purchase_void (purchase_id, void_key, voided_at, manager, reason, amount) \
         SELECT id, gen_random_uuid(), now(), 90, 'x', 0 FROM purchase LIMIT 1",
        "INSERT INTO refund (refund_key, purchase_id, refunded_at, manager, reason, amount) \
         SELECT gen_random_uuid(), id, now(), 90, 'x', 1 FROM purchase LIMIT 1",
        "INSERT INTO shift (till, opened_at) VALUES ('T02', now())",
        "UPDATE shift SET figures = '{}'",
        "UPDATE purchase SET payment_method = 'card'",
        "DELETE FROM refund_line",
        "UPDATE stat_branch_totals SET refunded = 0",
        "SELECT retract_from_counters(1, NULL, 1, true)",
        "SELECT open_shift_of('T03')",
        "SELECT shift_figures(1)",
        "SELECT fold_until_folded(1)",
        "SELECT check_void_or_refund(gen_random_uuid(), 'x')",
        "SELECT check_manager_pin(90, '2468', 'T01')",
        "SELECT * FROM manager_secret",
        "SELECT * FROM manager_pin_failure",
        "DELETE FROM manager_pin_failure",
        "SELECT * FROM shift",
        "SELECT * FROM purchase_void",
    ] {
        assert_eq!(
            code(client.execute(statement, &[]).await),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "the clerk could run: {statement}"
        );
    }
    let owner = attacker(&db, Some("icash_owner")).await;
    let owner = connect_as(&owner, &db).await;
    for statement in [
        "SELECT * FROM void_purchase(gen_random_uuid(), 1, 'T01', NULL, 90, '2468', 'x')",
        "SELECT * FROM manager_secret",
        "SELECT * FROM close_shift('T01', NULL)",
        "SELECT * FROM till_shifts('T01', now() - interval '1 day', now())",
        "INSERT INTO shift (till, opened_at) VALUES ('T02', now())",
    ] {
        assert_eq!(
            code(owner.execute(statement, &[]).await),
            Some(SqlState::INSUFFICIENT_PRIVILEGE),
            "the owner could run: {statement}"
        );
    }
    // The owner reads them.
    let closed: i64 = owner
        .query_one(
            "SELECT count(*) FROM shift WHERE closed_at IS NOT NULL AND figures IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(closed, 1);
}
