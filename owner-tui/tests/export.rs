//! The dashboard's CSV export: written through the `csv` crate, with spreadsheet formula
//! prefixes neutralised.

use owner_tui::effects::top_products_csv;
use store_core::domain::analytics::TopProduct;

fn product(rank: i64, name: &str, units: i64) -> TopProduct {
    TopProduct {
        product_id: rank as i32,
        name: name.into(),
        units,
        rank,
    }
}

#[test]
fn top_products_are_spreadsheet_safe_csv() {
    let products = [
        product(1, "=cmd|' /C calc'!A0", 9),
        product(2, "+milk", 5),
        product(2, "salt, \"fine\"", 5),
        product(3, "@SUM(A1:A9)", 4),
        product(4, "orange juice", 1),
    ];
    let csv = top_products_csv(&products).unwrap();
    assert_eq!(
        csv,
        "rank,product_id,product,units\n\
         1,1,'=cmd|' /C calc'!A0,9\n\
         '=2,2,'+milk,5\n\
         '=2,2,\"salt, \"\"fine\"\"\",5\n\
         3,3,'@SUM(A1:A9),4\n\
         4,4,orange juice,1\n"
    );
}

/// Every view's table goes through the same spreadsheet-safe writer: a product or cashier
/// name that looks like a formula is written as text.
#[test]
fn view_tables_are_spreadsheet_safe_csv() {
    let rows: Vec<Vec<String>> = [
        ["position", "product", "revenue"],
        ["1", "=HYPERLINK(\"http://x\")", "12.50"],
        ["2", "salt, fine", "3.00"],
        ["3", "@cashier", "-1.00"],
    ]
    .iter()
    .map(|r| r.iter().map(|f| f.to_string()).collect())
    .collect();
    assert_eq!(
        owner_tui::effects::table_csv(&rows).unwrap(),
        "position,product,revenue\n\
         1,\"'=HYPERLINK(\"\"http://x\"\")\",12.50\n\
         2,\"salt, fine\",3.00\n\
         3,'@cashier,'-1.00\n"
    );
}
