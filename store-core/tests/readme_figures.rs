//! The README and the manuals show what a newcomer gets: their screenshots and JSON examples are
//! the figures of the built-in demo data (the embedded default's first use), not of another
//! data set.

use std::path::Path;

use store_core::domain::analytics::{self, Filter};
use store_core::domain::catalog;
use store_core::seed::{self, SeedOptions};
use store_testkit::fresh_db;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The boxes' rows in `text` (each line cut at the box borders) that start with `label`, as
/// their words.
fn rows_starting_with<'a>(text: &'a str, label: &str) -> Vec<Vec<&'a str>> {
    text.lines()
        .flat_map(|line| line.split('│'))
        .map(|cell| cell.trim_start_matches(['┌', '└', ' ']))
        .filter(|cell| cell.starts_with(label))
        .map(|cell| cell.split(' ').filter(|w| !w.is_empty()).collect())
        .collect()
}

#[tokio::test]
async fn the_documented_figures_are_those_of_the_demo_data() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let client = db.store.client().await.unwrap();
    let dashboard = analytics::dashboard(&client, &Filter::default(), 3, 10)
        .await
        .unwrap();
    let report = analytics::report(&client, 3).await.unwrap();
    let products = catalog::load_catalog(&client).await.unwrap().products;

    let readme = read("README.md");
    let owner_manual = read("docs/owner-tui.md");
    let pos_manual = read("docs/pos-tui.md");

    // `store-core analytics --json`, as the README shows it.
    assert!(
        readme.contains(&format!(
            "{{\"unique_buyers\": {}, \"min_purchases\": 3,",
            report.unique_buyers
        )),
        "README's analytics JSON: unique_buyers should be {}",
        report.unique_buyers
    );
    let first = &report.top_products[0];
    assert!(
        readme.contains(&format!(
            "\"top_products\": [{{\"product_id\": {}, \"name\": \"{}\", \"units\": {}}}",
            first.product_id, first.name, first.units
        )),
        "README's analytics JSON: the first top product should be {first:?}"
    );
    assert!(
        readme.contains(&format!(
            "\"loyal_buyers\": [{{\"user_id\": \"…\", \"purchases\": {}}}",
            report.loyal_buyers[0].purchases
        )),
        "README's analytics JSON: the first loyal buyer has {} purchases",
        report.loyal_buyers[0].purchases
    );

    // owner-tui's screenshot, in the README and in its manual.
    for (name, text) in [("README.md", &readme), ("docs/owner-tui.md", &owner_manual)] {
        let unique = rows_starting_with(text, "Unique buyers");
        assert!(!unique.is_empty(), "{name}: no owner-tui screenshot");
        for row in &unique {
            assert!(
                row.contains(&dashboard.unique_buyers.to_string().as_str()),
                "{name}: unique buyers should read {}: {row:?}",
                dashboard.unique_buyers
            );
        }
        for row in rows_starting_with(text, "Loyal buyers (3+ purchases)") {
            assert!(
                row.contains(&dashboard.loyal_buyers.to_string().as_str()),
                "{name}: loyal buyers should read {}: {row:?}",
                dashboard.loyal_buyers
            );
        }
        for branch in &dashboard.branches {
            for row in rows_starting_with(text, &branch.supermarket_id) {
                let expected = [branch.purchases.to_string(), branch.revenue.to_string()];
                assert!(
                    expected.iter().all(|figure| row.contains(&figure.as_str())),
                    "{name}: {} should read {expected:?}: {row:?}",
                    branch.supermarket_id
                );
            }
        }
        for (rank, product) in dashboard.top_products.iter().enumerate() {
            let label = format!("{} {} ", rank + 1, product.name);
            let rows = rows_starting_with(text, &label);
            assert!(!rows.is_empty(), "{name}: top product {label:?} missing");
            for row in rows {
                assert!(
                    row.contains(&product.units.to_string().as_str()),
                    "{name}: {} should read {} units: {row:?}",
                    product.name,
                    product.units
                );
            }
        }
    }

    // pos-tui's quick keys show the demo catalog's names and prices.
    for (name, text) in [("README.md", &readme), ("docs/pos-tui.md", &pos_manual)] {
        let mut seen = 0;
        for product in &products {
            for row in rows_starting_with(text, &format!("F{} ", product.id)) {
                let shown = row.join(" ");
                assert!(
                    shown.contains(&format!(
                        "{} {} {}",
                        product.id, product.name, product.unit_price
                    )),
                    "{name}: quick key F{} should show {} at {}: {shown:?}",
                    product.id,
                    product.name,
                    product.unit_price
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "{name}: no pos-tui screenshot with quick keys");
    }
}
