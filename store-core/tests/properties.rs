//! Property tests: the CSV importer on arbitrary and mutated input, and the analytics against
//! an in-memory computation of the same answers.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use store_core::domain::analytics;
use store_core::domain::input;
use store_core::domain::time_zone::Tz;
use store_core::import::{self, CsvSource, ProductRow, PurchaseReader};
use store_core::seed::{self, SeedOptions};
use store_testkit::fresh_db;
use uuid::Uuid;

const PRODUCTS: &str = "product_name,unit_price\nmilk,1.5\nbread,2\neggs,3\ncheese,5\n";

fn products() -> Vec<ProductRow> {
    import::read_products(&CsvSource::Bytes {
        name: "p.csv".into(),
        bytes: PRODUCTS.as_bytes(),
    })
    .unwrap()
}

/// Reads every row; returns the number read or the first error's text.
fn read_all(bytes: &[u8]) -> Result<usize, String> {
    let p = products();
    let mut reader =
        PurchaseReader::new("x.csv".into(), bytes, &p, Tz::UTC).map_err(|e| e.to_string())?;
    let mut n = 0;
    loop {
        match reader.next_row() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return Ok(n),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// An error names the file, a line and a field: `x.csv:<line>: <field>: <message>`.
fn names_file_line_and_field(error: &str) -> bool {
    let Some(rest) = error.strip_prefix("x.csv:") else {
        return false;
    };
    let mut parts = rest.splitn(3, ": ");
    let line_ok = parts.next().is_some_and(|l| l.parse::<u64>().is_ok());
    let field_ok = parts
        .next()
        .is_some_and(|f| !f.is_empty() && !f.contains(' '));
    line_ok && field_ok && parts.next().is_some_and(|m| !m.is_empty())
}

const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount\n";
const GOOD_ROW: &str =
    "SMKT001,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,milk\",4.5\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_say_where(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut data = HEADER.as_bytes().to_vec();
        data.extend_from_slice(&bytes);
        if let Err(e) = read_all(&data) {
            prop_assert!(names_file_line_and_field(&e), "{e}");
        }
    }

    #[test]
    fn mutated_valid_rows_are_read_whole_or_refused_where_they_break(
        position in 0usize..GOOD_ROW.len() - 1,
        replacement in prop_oneof![Just(','), Just('"'), Just('x'), Just('9'), Just('-'), Just('\n'), Just('\r'), Just(' ')],
        rows_before in 0usize..5,
    ) {
        let mut row: Vec<char> = GOOD_ROW.chars().collect();
        row[position] = replacement;
        let mutated: String = row.into_iter().collect();
        let data = format!("{HEADER}{}{mutated}", GOOD_ROW.repeat(rows_before));
        match read_all(data.as_bytes()) {
            Ok(n) => prop_assert!(n >= rows_before),
            Err(e) => prop_assert!(names_file_line_and_field(&e), "{e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A name the policy accepts loads, is matched in an items_list whatever its case and
    /// surrounding spaces, and prints without control characters; a refused one is refused by
    /// the products file with its line.
    #[test]
    fn product_names_are_accepted_and_matched_by_one_policy(raw in "\\PC{0,3}[\\PC\\p{Cc}\\p{Cf},]{0,6}") {
        let csv_name = {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([raw.as_str(), "2"]).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        let data = format!("product_name,unit_price\nmilk,1.5\n{csv_name}");
        let source = CsvSource::Bytes { name: "p.csv".into(), bytes: Box::leak(data.into_boxed_str()).as_bytes() };
        let read = import::read_products(&source);
        match input::product_name(&raw) {
            Ok(name) if input::name_key(name) != input::name_key("milk") => {
                let products = read.unwrap();
                prop_assert_eq!(&products[1].name, name);
                prop_assert!(!input::printable(name).chars().any(char::is_control));
                let row = format!(
                    "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\" {} \",2\n",
                    name.to_uppercase().replace('"', "\"\"")
                );
                let purchases = format!("{HEADER}{row}");
                let mut reader = PurchaseReader::new("x.csv".into(), purchases.as_bytes(), &products, Tz::UTC).unwrap();
                // Upper-casing can change a name's length or make it collide; when the key is
                // kept, the row finds the product.
                if input::name_key(&name.to_uppercase()) == input::name_key(name) {
                    prop_assert_eq!(reader.next_row().unwrap().unwrap().items, vec![1]);
                }
            }
            Ok(_) => {
                let err = read.unwrap_err().to_string();
                prop_assert!(err.starts_with("p.csv:3: product_name: "), "{}", err);
            }
            Err(message) => {
                let err = read.unwrap_err().to_string();
                prop_assert!(err.starts_with("p.csv:3: "), "{}", err);
                prop_assert!(err.ends_with(&message) || err.contains("NUL"), "{} / {}", err, message);
            }
        }
    }

    /// However long a bad field, the error quotes at most 80 of its characters.
    #[test]
    fn errors_quote_at_most_80_characters(middle in "[^\\x00\",\r\n]{80,3000}", column in 0usize..5) {
        let field = format!("x{middle}x");
        let mut fields: Vec<String> = vec![
            "SMKT001".into(), "2025-05-26T19:51:00".into(),
            "01e1e159-8045-43c2-88dd-5682b18bd680".into(), "milk".into(), "1.5".into(),
        ];
        fields[column] = field.clone();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&fields).unwrap();
        let mut data = HEADER.as_bytes().to_vec();
        data.extend(w.into_inner().unwrap());
        let err = read_all(&data).unwrap_err();
        prop_assert!(names_file_line_and_field(&err), "{}", err);
        let quoted = input::quote(&field);
        let cut_note = format!("… ({} characters)", field.chars().count());
        prop_assert!(quoted.ends_with(&cut_note), "{}", quoted);
        prop_assert!(err.contains(&quoted), "{}", err);
        prop_assert!(err.chars().count() <= quoted.chars().count() + 200, "{}", err);
    }

    /// Amounts round-trip through their plain decimal text, and nothing else is read as one.
    #[test]
    fn amounts_are_read_exactly(cents in -1_000_000_000_000i64..1_000_000_000_000, text in "\\PC{0,20}") {
        let amount = rust_decimal::Decimal::new(cents, 2);
        prop_assert_eq!(input::money(&amount.to_string()), Ok(amount));
        if let Ok(value) = input::money(&text) {
            let plain = text.trim().trim_start_matches(['+', '-']);
            prop_assert!(plain.bytes().all(|b| b.is_ascii_digit() || b == b'.'), "{:?}", text);
            prop_assert!(!plain.starts_with('.') && !plain.ends_with('.'), "{:?}", text);
            prop_assert_eq!(value.scale() <= 2, true);
        }
    }
}

/// A small random data set: purchases as (user index, branch index, product set bitmask).
fn dataset() -> impl Strategy<Value = Vec<(usize, usize, u8)>> {
    proptest::collection::vec((0usize..12, 0usize..3, 1u8..16), 1..60)
}

fn to_csv(purchases: &[(usize, usize, u8)], users: &[Uuid]) -> String {
    let names = ["milk", "bread", "eggs", "cheese"];
    let cents = [150, 200, 300, 500];
    let mut csv = String::from(HEADER);
    for (i, (user, branch, mask)) in purchases.iter().enumerate() {
        let items: Vec<&str> = (0..4)
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| names[b])
            .collect();
        let total: i64 = (0..4)
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| cents[b])
            .sum();
        csv.push_str(&format!(
            "SMKT00{},2025-05-01T10:{:02}:00,{},\"{}\",{}\n",
            branch + 1,
            i % 60,
            users[*user],
            items.join(","),
            rust_decimal::Decimal::new(total, 2)
        ));
    }
    csv
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn analytics_equal_an_in_memory_computation(purchases in dataset()) {
        let users: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.csv"), PRODUCTS).unwrap();
        std::fs::write(dir.path().join("x.csv"), to_csv(&purchases, &users)).unwrap();

        // The expected answers, computed here.
        let mut per_user: HashMap<usize, i64> = HashMap::new();
        let mut units: BTreeMap<&str, i64> = BTreeMap::new();
        for (user, _, mask) in &purchases {
            *per_user.entry(*user).or_default() += 1;
            for (b, name) in ["milk", "bread", "eggs", "cheese"].iter().enumerate() {
                if mask & (1 << b) != 0 {
                    *units.entry(name).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(&str, i64)> = units.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let expected_top: Vec<(String, i64)> = ranked
            .iter()
            .filter(|(_, u)| ranked.iter().filter(|(_, v)| v > u).count() < 3)
            .map(|(n, u)| (n.to_string(), *u))
            .collect();

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let db = fresh_db().await;
            seed::seed(&db.store, &SeedOptions::from_files(dir.path().join("p.csv"), dir.path().join("x.csv")))
                .await
                .unwrap();
            let client = db.store.client().await.unwrap();
            // The day-level counters the load wrote equal a recount of the rows.
            assert_eq!(analytics::day_counter_differences(&client).await.unwrap(), Vec::<String>::new());
            for min in 1..=6 {
                let report = analytics::report(&client, min).await.unwrap();
                assert_eq!(report.unique_buyers, per_user.len() as i64);
                let mut expected_loyal: Vec<(Uuid, i64)> = per_user
                    .iter()
                    .filter(|(_, n)| **n >= min as i64)
                    .map(|(u, n)| (users[*u], *n))
                    .collect();
                expected_loyal.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let loyal: Vec<(Uuid, i64)> =
                    report.loyal_buyers.iter().map(|b| (b.user_id, b.purchases)).collect();
                assert_eq!(loyal, expected_loyal, "min {min}");
                let top: Vec<(String, i64)> =
                    report.top_products.iter().map(|p| (p.name.clone(), p.units)).collect();
                assert_eq!(top, expected_top);
            }
        });
    }
}

/// What is done to the data set after it is loaded: void purchase `i` (an index into the
/// purchases by id, wrapped), or refund its lines in `mask` (0: what is left of it).
#[derive(Clone, Debug)]
enum Undo {
    Void(usize),
    Refund(usize, u8),
}

fn undos() -> impl Strategy<Value = Vec<Undo>> {
    proptest::collection::vec(
        prop_oneof![
            (0usize..60).prop_map(Undo::Void),
            (0usize..60, 0u8..16).prop_map(|(i, m)| Undo::Refund(i, m)),
        ],
        0..25,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Voids and refunds, each accepted or refused as an in-memory model says, leave the
    /// counters equal to the model's answers (a voided purchase counts nowhere; a refunded line
    /// is no unit sold and its price leaves the revenue) and to the recount from the rows.
    #[test]
    fn analytics_equal_an_in_memory_model_under_voids_and_refunds(purchases in dataset(), undone in undos()) {
        use store_core::domain::refund::{self, ManagerPin, RefundError, RefundRequest, VoidRequest};
        let users: Vec<Uuid> = (0..12).map(|_| Uuid::new_v4()).collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.csv"), PRODUCTS).unwrap();
        std::fs::write(dir.path().join("x.csv"), to_csv(&purchases, &users)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let db = fresh_db().await;
            seed::seed(&db.store, &SeedOptions::from_files(dir.path().join("p.csv"), dir.path().join("x.csv")))
                .await
                .unwrap();
            let client = db.store.client().await.unwrap();
            store_core::domain::cashier::add_cashier_with(&client, 1, "Boss", Some("1111"), true).await.unwrap();
            // A void is of a sale of the till's open shift: the seeded sales are made T1's.
            client.batch_execute(
                "WITH s AS (INSERT INTO shift (till, opened_at) VALUES ('T1', '2000-01-01') RETURNING id) \
                 UPDATE purchase SET shift_id = (SELECT id FROM s)").await.unwrap();
            // The model: each purchase (id, user, branch, its lines with prices), what is undone.
            struct Sold { id: i64, user: Uuid, branch: String, lines: BTreeMap<i32, rust_decimal::Decimal>, voided: bool, refunded: Vec<i32> }
            let mut sold: Vec<Sold> = Vec::new();
            for row in client.query(
                "SELECT p.id, p.user_id, p.supermarket_id, array_agg(pp.product_id ORDER BY pp.product_id), \
                        array_agg(pp.unit_price ORDER BY pp.product_id) \
                 FROM purchase p JOIN purchase_product pp ON pp.purchase_id = p.id GROUP BY p.id ORDER BY p.id",
                &[]).await.unwrap() {
                let ids: Vec<i32> = row.get(3);
                let prices: Vec<rust_decimal::Decimal> = row.get(4);
                sold.push(Sold { id: row.get(0), user: row.get(1), branch: row.get(2),
                    lines: ids.into_iter().zip(prices).collect(), voided: false, refunded: Vec::new() });
            }
            for undo in &undone {
                match undo {
                    Undo::Void(i) => {
                        let s = &mut sold[i % purchases.len()];
                        let request = VoidRequest { void_key: Uuid::now_v7(), purchase_id: s.id, till: "T1".into(),
                            cashier: None, manager: 1, manager_pin: ManagerPin::new("1111"), reason: "test".into() };
                        let result = refund::void_purchase(&db.store, &request).await;
                        let expected = if s.voided { Err(RefundError::AlreadyVoided) }
                            else if !s.refunded.is_empty() { Err(RefundError::HasRefunds) }
                            else { Ok(()) };
                        assert_eq!(result.map(|_| ()), expected, "void {}", s.id);
                        if expected.is_ok() { s.voided = true; }
                    }
                    Undo::Refund(i, mask) => {
                        let s = &mut sold[i % purchases.len()];
                        let product_ids: Vec<i32> = (1..=4).filter(|p| mask & (1 << (p - 1)) != 0).collect();
                        let request = RefundRequest { refund_key: Uuid::now_v7(), purchase_id: s.id,
                            product_ids: product_ids.clone(), till: "T1".into(), cashier: None, manager: 1,
                            manager_pin: ManagerPin::new("1111"),
                            reason: "test".into() };
                        let result = refund::refund_purchase(&db.store, &request).await;
                        let not_in: Vec<i32> = product_ids.iter().copied().filter(|p| !s.lines.contains_key(p)).collect();
                        let wanted: Vec<i32> = if product_ids.is_empty() {
                            s.lines.keys().copied().filter(|p| !s.refunded.contains(p)).collect()
                        } else { product_ids.clone() };
                        let twice: Vec<i32> = if product_ids.is_empty() && wanted.is_empty() {
                            s.refunded.iter().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect()
                        } else {
                            wanted.iter().copied().filter(|p| s.refunded.contains(p)).collect()
                        };
                        let expected = if s.voided { Err(RefundError::AlreadyVoided) }
                            else if !not_in.is_empty() { Err(RefundError::NotInPurchase(not_in)) }
                            else if !twice.is_empty() { Err(RefundError::AlreadyRefunded { product_ids: twice }) }
                            else { Ok(wanted.iter().map(|p| s.lines[p]).sum::<rust_decimal::Decimal>()) };
                        assert_eq!(result.map(|r| r.amount), expected, "refund {} {:?}", s.id, product_ids);
                        if expected.is_ok() { s.refunded.extend(wanted); }
                    }
                }
            }
            // The model's answers.
            let counted: Vec<&Sold> = sold.iter().filter(|s| !s.voided).collect();
            let mut per_user: HashMap<Uuid, i64> = HashMap::new();
            let mut units: BTreeMap<i32, i64> = BTreeMap::new();
            let mut revenue: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
            let mut per_branch: BTreeMap<String, i64> = BTreeMap::new();
            for s in &counted {
                *per_user.entry(s.user).or_default() += 1;
                *per_branch.entry(s.branch.clone()).or_default() += 1;
                for (p, price) in &s.lines {
                    if !s.refunded.contains(p) {
                        *units.entry(*p).or_default() += 1;
                        *revenue.entry(s.branch.clone()).or_default() += *price;
                    }
                }
            }
            for min in 1..=4 {
                let report = analytics::report(&client, min).await.unwrap();
                assert_eq!(report.unique_buyers, per_user.len() as i64);
                let mut expected_loyal: Vec<(Uuid, i64)> = per_user.iter()
                    .filter(|(_, n)| **n >= min as i64).map(|(u, n)| (*u, *n)).collect();
                expected_loyal.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let loyal: Vec<(Uuid, i64)> = report.loyal_buyers.iter().map(|b| (b.user_id, b.purchases)).collect();
                assert_eq!(loyal, expected_loyal, "min {min}");
                let mut expected_top: Vec<(i32, i64)> = units.iter().filter(|(_, u)| **u > 0)
                    .filter(|(_, u)| units.values().filter(|v| v > u).count() < 3)
                    .map(|(p, u)| (*p, *u)).collect();
                expected_top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let mut top: Vec<(i32, i64)> = report.top_products.iter().map(|p| (p.product_id, p.units)).collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                assert_eq!(top, expected_top);
                let fast = analytics::dashboard_from_counters(&client, min, 100).await.unwrap();
                let recount = analytics::dashboard_from_rows(&client, &analytics::Filter::default(), min, 100).await.unwrap();
                assert_eq!(&fast.branches, &recount.branches);
                assert_eq!(fast.top_products, recount.top_products);
                assert_eq!(fast.loyal_page, recount.loyal_page);
                for b in &fast.branches {
                    assert_eq!(b.purchases, per_branch.get(&b.supermarket_id).copied().unwrap_or(0), "{}", b.supermarket_id);
                    assert_eq!(b.revenue, revenue.get(&b.supermarket_id).copied().unwrap_or_default(), "{}", b.supermarket_id);
                }
            }
        });
    }
}
