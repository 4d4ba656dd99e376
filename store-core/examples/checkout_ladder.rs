//! What each part of the checkout costs against the bare insert: `record_purchase` is replaced
//! by copies of itself with one more part taken away at each rung, and every rung is measured
//! side by side with the bare insert, as `store-core bench` does. The cuts are made on the text
//! of `schema.sql`, so a rung whose text is no longer there stops the run instead of measuring
//! something else.
//!
//! ```sh
//! store-core generate --purchases 1000000 --users 333333 --out /tmp/ladder
//! store-core seed --database-url "$SCRATCH" --products /tmp/ladder/products_list.csv \
//!     --purchases /tmp/ladder/purchases.csv
//! cargo run --release -p store-core --example checkout_ladder -- "$SCRATCH" 16 8
//! ```
//!
//! With SQL files after the seconds, each file (a `CREATE OR REPLACE FUNCTION record_purchase`)
//! is a rung instead: two versions of the function compared in one run.
//!
//! Only on a scratch database: the function is restored at the end, but the rungs write sales
//! that the counters never see (the rungs without the queue).

use std::sync::Arc;

// The benchmark is the `store-core` program's, not the library's: compiled in here from its
// sources.
#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;
// The bench (in `cli`) measures the HTTP API, so its sources come along.
#[allow(dead_code)]
#[path = "../src/serve/mod.rs"]
mod serve;

use cli::bench::checkout_side_by_side;
use store_core::db::schema::SCHEMA_SQL;
use store_core::db::store::Store;
use store_core::domain::catalog::{load_catalog, sample_customers};

const NOTIFICATION: &str =
    "        IF coalesce(nullif(current_setting('icash.last_notify', true), ''), '0')::float8
           < extract(epoch FROM clock_timestamp()) - 0.2 THEN
            PERFORM pg_notify('icash_purchase',
                        json_build_object('purchase_id', r.sale_id,
                                          'supermarket_id', r.branch)::text),
                    set_config('icash.last_notify',
                        extract(epoch FROM clock_timestamp())::text, false);
        END IF;
";

const QUEUE: &str = "    ), queued AS (
        INSERT INTO public.purchase_unfolded (purchase_id) SELECT s.id FROM sale s
";

const CUSTOMER_CHECK: &str = "
          AND (p_new_customer
               OR EXISTS (SELECT 1 FROM public.customer c WHERE c.user_id = p_user_id))";

const CUSTOMER_ROW: &str = "    ), customer_row AS (
        INSERT INTO public.customer (user_id, purchases, first_purchase_at, last_purchase_at)
        SELECT s.user_id, 0, s.created_at, s.created_at FROM sale s WHERE p_new_customer
        ON CONFLICT (user_id) DO NOTHING
        RETURNING user_id
";

/// What the receipt says of the customer row, once there is none to make.
const CUSTOMER_ROW_MADE: (&str, &str) = (
    "EXISTS (SELECT 1 FROM customer_row) AS made_customer",
    "false AS made_customer",
);

const PINNED_PATH: &str = "SET search_path = pg_catalog, pg_temp\n";

const IDEMPOTENCY: &str = "        ON CONFLICT (sale_key) WHERE sale_key IS NOT NULL DO NOTHING\n";

/// The last rung: the function writes the bare insert's rows and nothing else (no price read,
/// no check); lines at 1.00 each, the till's total as the purchase's.
const WRITES_ONLY_BODY: &str = "AS $$
BEGIN
    RETURN QUERY
    WITH sale AS (
        INSERT INTO public.purchase (supermarket_id, created_at, user_id, total_amount, sale_key)
        VALUES (p_supermarket_id, now(), p_user_id, p_expected_total, p_sale_key)
        RETURNING id, purchase.created_at
    ), sale_lines AS (
        INSERT INTO public.purchase_product (purchase_id, product_id, unit_price)
        SELECT s.id, x, 1 FROM sale s, unnest(p_product_ids) AS x
    )
    SELECT s.id, p_supermarket_id, p_user_id, p_new_customer, s.created_at, p_expected_total,
           false, p_product_ids, '{}'::text[], '{}'::numeric[]
    FROM sale s;
END;
$$;
";

/// record_purchase as schema.sql defines it, as a replacement of the installed one (which
/// keeps its owner and grants).
fn record_purchase_definition() -> String {
    let start = SCHEMA_SQL
        .find("CREATE FUNCTION public.record_purchase(")
        .expect("record_purchase in schema.sql");
    let end = start
        + SCHEMA_SQL[start..]
            .find("\n$$;\n")
            .expect("end of record_purchase")
        + 5;
    SCHEMA_SQL[start..end].replacen("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
}

fn without(function: &str, part: &str) -> String {
    replaced(function, (part, ""))
}

fn replaced(function: &str, (part, with): (&str, &str)) -> String {
    assert!(
        function.contains(part),
        "record_purchase no longer contains this part; update the ladder:\n{part}"
    );
    function.replacen(part, with, 1)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: checkout_ladder DATABASE_URL [TILLS] [SECONDS]")?;
    let tills: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(16);
    let seconds: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(8.0);

    let settings = store_core::db::target::parse_connect_settings(&url)?;
    let store = Store::from_settings(settings, "ladder".into(), tills)?;
    let catalog = load_catalog(&store.client().await?).await?;
    let known = Arc::new(sample_customers(&store.client().await?, 1000).await?);

    let real = record_purchase_definition();
    let unpinned = without(&real, PINNED_PATH);
    let no_notification = without(&unpinned, NOTIFICATION);
    let no_queue = without(&no_notification, QUEUE);
    let no_customer = replaced(
        &without(&without(&no_queue, CUSTOMER_CHECK), CUSTOMER_ROW),
        CUSTOMER_ROW_MADE,
    );
    let no_idempotency = without(&no_customer, IDEMPOTENCY);
    let header = &real[..real.find("AS $$\n").expect("function body")];
    let writes_only = format!("{header}{WRITES_ONLY_BODY}");
    let mut rungs = vec![
        ("the real checkout".to_string(), real.clone()),
        ("- the pinned search_path".into(), unpinned),
        ("- the notification".into(), no_notification),
        ("- the counters' queue".into(), no_queue),
        ("- the customer check and row".into(), no_customer),
        ("- the sale-key check (ON CONFLICT)".into(), no_idempotency),
        ("- the price read and the checks".into(), writes_only),
    ];
    // Or other versions of the function, one file each, to compare them side by side.
    let files: Vec<String> = args.collect();
    if !files.is_empty() {
        rungs = files
            .iter()
            .map(|file| Ok((file.clone(), std::fs::read_to_string(file)?)))
            .collect::<std::io::Result<_>>()?;
    }

    println!("{tills} tills, {seconds} s per mode and rung");
    println!(
        "{:<34} {:>12} {:>12} {:>7}",
        "rung", "checkout/s", "bare/s", "ratio"
    );
    let client = store.client().await?;
    for (name, definition) in &rungs {
        client.batch_execute(definition).await?;
        // New connections, so that no plan of the previous rung is reused.
        let rung_store = Store::from_settings(
            store_core::db::target::parse_connect_settings(&url)?,
            "ladder".into(),
            tills,
        )?;
        let (real, bare) =
            checkout_side_by_side(&rung_store, &catalog, &known, tills, seconds).await?;
        println!(
            "{name:<34} {:>12.0} {:>12.0} {:>7.2}",
            real.per_second,
            bare.per_second,
            real.per_second / bare.per_second
        );
    }
    client.batch_execute(&real).await?;
    Ok(())
}
