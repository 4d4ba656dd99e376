//! Whole screens, rendered by `view` into ratatui's TestBackend and compared with the snapshots
//! in tests/snapshots, exactly: ids come from the till's counting id source, times from the
//! ticks, in UTC. The main screens are also drawn at 60x20, 40x12 and 200x60.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use crossterm::event::KeyCode;
use pos_tui::app::{DbFailure, JournalStatus, Msg, State, update};
use pos_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::domain::catalog::CustomerSummary;
use store_core::domain::checkout::{CustomerChoice, Receipt, ReceiptLine, Sale};
use store_core::error::CheckoutError;
use store_core::till::journal::{Outcome, RefusedSale};
use uuid::Uuid;

fn render(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    terminal.backend().to_string()
}

fn snapshot_at(name: &str, state: &State, width: u16, height: u16) {
    let screen = render(state, width, height);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

fn snapshot(name: &str, state: &State) {
    snapshot_at(name, state, 80, 24);
}

/// The screen at 80x24 and, as `name@WxH`, at the small and large sizes.
fn snapshot_every_size(name: &str, state: &State) {
    snapshot(name, state);
    for (width, height) in [(60, 20), (40, 12), (200, 60)] {
        snapshot_at(&format!("{name}@{width}x{height}"), state, width, height);
    }
}

/// A queued sale as the journal hands it back, with fixed ids.
fn queued_sale(n: u128) -> Sale {
    Sale {
        sale_key: Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0000 | n),
        supermarket_id: "SMKT002".into(),
        customer: CustomerChoice::New(Uuid::from_u128(
            0x0c00_0000_0000_4000_8000_0000_0000_0000 | n,
        )),
        product_ids: vec![],
        expected_total: None,
        sold_at: None,
        till: None,
        cashier: None,
        receipt_no: None,
        payment: None,
    }
}

fn with_cart() -> State {
    let mut state = selling();
    press(&mut state, "n1\r4\r8\r10\r");
    update(&mut state, key(KeyCode::Up));
    state
}

fn submit(state: &mut State) -> Sale {
    match press(state, "s").as_slice() {
        [pos_tui::app::Effect::Submit(sale)] => (**sale).clone(),
        other => panic!("expected a submit, got {other:?}"),
    }
}

#[test]
fn branch_choice() {
    let mut state = loaded();
    update(&mut state, key(KeyCode::Down));
    snapshot_every_size("branch_choice", &state);
}

#[test]
fn branch_choice_while_the_database_is_down() {
    let mut state = till("db", None);
    update(&mut state, Msg::Tick(noon()));
    update(
        &mut state,
        Msg::CatalogLoaded(Err(DbFailure {
            message: "cannot reach the database at postgresql://till@db:5432/icash within 5 s"
                .into(),
            connection: true,
        })),
    );
    snapshot("branch_choice_database_down", &state);
}

/// A till started while the database is away, selling from the catalog an earlier run kept:
/// the branch choice, and a sale with a queued one waiting (the status bar says offline, and
/// when the catalog was kept).
#[test]
fn selling_from_the_kept_catalog_while_the_database_is_down() {
    let mut state = till("db", None);
    update(
        &mut state,
        Msg::StoredCatalog(pos_tui::app::KeptCatalog {
            kept_at: Utc.with_ymd_and_hms(2025, 3, 14, 11, 2, 0).unwrap(),
            catalog: catalog(),
        }),
    );
    update(&mut state, Msg::Tick(noon()));
    update(
        &mut state,
        Msg::CatalogLoaded(Err(DbFailure {
            message: "cannot reach the database at postgresql://till@db:5432/icash within 5 s"
                .into(),
            connection: true,
        })),
    );
    snapshot("branch_choice_kept_catalog_offline", &state);
    press(&mut state, "2");
    press(&mut state, "n1\r3\r");
    update(
        &mut state,
        Msg::Journal(JournalStatus {
            pending: 1,
            refused: vec![],
            warning: None,
        }),
    );
    snapshot("sale_kept_catalog_offline", &state);
}

#[test]
fn empty_sale() {
    snapshot_every_size("empty_sale", &selling());
}

#[test]
fn cart_with_lines() {
    let mut state = with_cart();
    press(&mut state, "7");
    snapshot_every_size("cart_with_lines", &state);
}

#[test]
fn customer_search_results() {
    let mut state = selling();
    press(&mut state, "c0a");
    update(&mut state, Msg::CustomerSearchDue { seq: 2 });
    let found = |id: &str, purchases| CustomerSummary {
        user_id: Uuid::parse_str(id).unwrap(),
        purchases,
        last_purchase_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap(),
    };
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Ok(vec![
                found("0a000000-0000-4000-8000-000000000001", 7),
                found("0a1b0000-0000-4000-8000-000000000002", 3),
                found("0aff0000-0000-4000-8000-000000000003", 1),
            ]),
        },
    );
    update(&mut state, key(KeyCode::Down));
    snapshot_every_size("customer_search_results", &state);
}

#[test]
fn product_search() {
    let mut state = with_cart();
    press(&mut state, "/e");
    snapshot_every_size("product_search", &state);
}

#[test]
fn submitting() {
    let mut state = with_cart();
    submit(&mut state);
    snapshot("submitting", &state);
}

#[test]
fn receipt() {
    let mut state = with_cart();
    let sale = submit(&mut state);
    let catalog = catalog();
    let lines: Vec<ReceiptLine> = sale
        .product_ids
        .iter()
        .map(|id| {
            let p = catalog.product(*id).unwrap();
            ReceiptLine {
                product_id: p.id,
                name: p.name.clone(),
                unit_price: p.unit_price,
            }
        })
        .collect();
    let receipt = Receipt {
        purchase_id: 3001,
        sale_key: sale.sale_key,
        supermarket_id: sale.supermarket_id.clone(),
        user_id: sale.customer.user_id(),
        new_customer: true,
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: lines.iter().map(|l| l.unit_price).sum(),
        lines,
        replayed: false,
        till: None,
        cashier: None,
        receipt_no: None,
        payment_method: None,
        tendered: None,
        change_due: None,
    };
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt)),
        },
    );
    snapshot_every_size("receipt", &state);
}

/// The receipt of `sale` as the database answers it, numbered `receipt_no` at its till.
fn numbered_receipt(sale: &Sale, receipt_no: i64) -> Receipt {
    let catalog = catalog();
    let lines: Vec<ReceiptLine> = sale
        .product_ids
        .iter()
        .map(|id| {
            let p = catalog.product(*id).unwrap();
            ReceiptLine {
                product_id: p.id,
                name: p.name.clone(),
                unit_price: p.unit_price,
            }
        })
        .collect();
    Receipt {
        purchase_id: 3001,
        sale_key: sale.sale_key,
        supermarket_id: sale.supermarket_id.clone(),
        user_id: sale.customer.user_id(),
        new_customer: true,
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: lines.iter().map(|l| l.unit_price).sum(),
        lines,
        replayed: false,
        till: sale.till.clone(),
        cashier: sale.cashier,
        receipt_no: Some(receipt_no),
        payment_method: None,
        tendered: None,
        change_due: None,
    }
}

#[test]
fn receipt_with_till_cashier_and_number() {
    let mut state = selling_as_cashier();
    press(&mut state, "n1\r4\r8\r");
    let sale = submit(&mut state);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(numbered_receipt(&sale, 124))),
        },
    );
    snapshot("receipt_with_till_cashier_and_number", &state);
}

#[test]
fn a_receipt_shows_the_time_on_its_branchs_own_clock() {
    let mut state = selling_as_cashier();
    press(&mut state, "n1\r");
    let sale = submit(&mut state);
    let branch = sale.supermarket_id.clone();
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(numbered_receipt(&sale, 7))),
        },
    );
    // 12:00:05 UTC is on the chain's clock (UTC here) until the branch keeps Tokyo's (+09:00).
    assert!(
        render(&state, 80, 24).contains("12:00:05"),
        "{}",
        render(&state, 80, 24)
    );
    let catalog = state.catalog.as_mut().unwrap();
    let own = catalog
        .branches
        .iter_mut()
        .find(|b| b.id == branch)
        .unwrap();
    own.timezone = Some(store_core::domain::time_zone::Tz::Asia__Tokyo);
    let screen = render(&state, 80, 24);
    assert!(
        screen.contains("21:00:05") && !screen.contains("12:00:05"),
        "{screen}"
    );
}

#[test]
fn sign_in_number() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "12");
    snapshot("sign_in_number", &state);
}

#[test]
fn sign_in_pin() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "3\r12");
    snapshot("sign_in_pin", &state);
}

#[test]
fn sign_in_wrong_pin() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "3\r1299\r");
    update(
        &mut state,
        Msg::PinChecked {
            attempt: 1,
            result: Ok(false),
        },
    );
    snapshot("sign_in_wrong_pin", &state);
}

#[test]
fn sale_with_a_cashier_signed_in() {
    let mut state = selling_as_cashier();
    press(&mut state, "n1\r");
    snapshot("sale_with_a_cashier_signed_in", &state);
}

/// Milk dearer since it was added, cheese no longer sold.
fn with_changed_and_retired_lines() -> State {
    let mut state = with_cart();
    let mut changed = catalog();
    changed.products[0].unit_price = price(200);
    changed.products.retain(|p| p.id != 8);
    update(&mut state, Msg::CatalogLoaded(Ok(changed)));
    state
}

#[test]
fn cart_with_a_changed_price_and_a_retired_line() {
    snapshot(
        "cart_with_a_changed_price_and_a_retired_line",
        &with_changed_and_retired_lines(),
    );
}

#[test]
fn new_prices_question() {
    let mut state = with_cart();
    let mut dearer = catalog();
    dearer.products[0].unit_price = price(200);
    update(&mut state, Msg::CatalogLoaded(Ok(dearer)));
    press(&mut state, "s");
    snapshot("new_prices_question", &state);
}

#[test]
fn no_branch_yet() {
    let mut state = till("db", None);
    update(&mut state, Msg::Tick(noon()));
    let mut empty = catalog();
    empty.branches.clear();
    update(&mut state, Msg::CatalogLoaded(Ok(empty)));
    snapshot("no_branch_yet", &state);
}

#[test]
fn submit_error() {
    let mut state = with_cart();
    let sale = submit(&mut state);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Err(CheckoutError::TotalMismatch {
                expected: price(1680),
                actual: price(1730),
            }),
        },
    );
    snapshot("submit_error", &state);
}

#[test]
fn clear_cart_question() {
    let mut state = with_cart();
    press(&mut state, "X");
    snapshot("clear_cart_question", &state);
}

#[test]
fn help() {
    let mut state = selling();
    press(&mut state, "?");
    snapshot_every_size("help", &state);
}

/// Not a snapshot: the total stays on screen however small the terminal gets, and nothing
/// panics while resizing.
#[test]
fn the_total_is_visible_at_every_size() {
    let state = with_cart();
    for (width, height) in [(80, 24), (60, 20), (40, 12), (30, 8), (120, 40)] {
        let screen = render(&state, width, height);
        assert!(
            screen.contains("TOTAL") || screen.contains("16.80"),
            "{width}x{height}:\n{screen}"
        );
    }
    for (width, height) in [(1, 1), (10, 3), (80, 2)] {
        render(&state, width, height);
    }
}

fn offline() -> DbFailure {
    DbFailure {
        message: "cannot reach the database at postgresql://till@db:5432/icash within 5 s".into(),
        connection: true,
    }
}

#[test]
fn queued_receipt() {
    let mut state = with_cart();
    let mut sale = submit(&mut state);
    sale.sold_at = Some(Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap());
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Queued(sale)),
        },
    );
    update(
        &mut state,
        Msg::Journal(JournalStatus {
            pending: 1,
            refused: vec![],
            warning: None,
        }),
    );
    snapshot_every_size("queued_receipt", &state);
}

#[test]
fn sale_with_sales_waiting_and_refused() {
    let mut state = with_cart();
    update(
        &mut state,
        Msg::Tick(noon() + chrono::Duration::seconds(61)),
    );
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    let mut sale = queued_sale(99);
    sale.product_ids = vec![3, 99];
    update(
        &mut state,
        Msg::Journal(JournalStatus {
            pending: 3,
            refused: vec![RefusedSale {
                sale,
                reason: "unknown product: 99".into(),
            }],
            warning: None,
        }),
    );
    snapshot("sale_with_sales_waiting_and_refused", &state);
}

fn with_refused_sales(count: i32) -> State {
    let mut state = selling();
    let refused: Vec<RefusedSale> = (0..count)
        .map(|i| {
            let mut sale = queued_sale(i as u128 + 1);
            sale.product_ids = vec![3, 90 + i];
            sale.sold_at = Some(Utc.with_ymd_and_hms(2025, 3, 14, 11, i as u32, 0).unwrap());
            RefusedSale {
                sale,
                reason: format!("unknown product: {}", 90 + i),
            }
        })
        .collect();
    update(
        &mut state,
        Msg::Journal(JournalStatus {
            pending: 0,
            refused,
            warning: None,
        }),
    );
    state
}

#[test]
fn refused_list() {
    let mut state = with_refused_sales(7);
    press(&mut state, "R");
    snapshot_every_size("refused_list", &state);
}

#[test]
fn refused_list_scrolled_to_the_selected_sale() {
    let mut state = with_refused_sales(7);
    press(&mut state, "R");
    for _ in 0..6 {
        update(&mut state, key(KeyCode::Down));
    }
    snapshot("refused_list_scrolled", &state);
}

#[test]
fn refused_sale_being_set_aside() {
    let mut state = with_refused_sales(2);
    press(&mut state, "R");
    update(&mut state, key(KeyCode::Down));
    press(&mut state, "aproduct 91 never existed");
    snapshot("refused_set_aside_reason", &state);
}

#[test]
fn repaired_journal_warning() {
    let mut state = with_refused_sales(1);
    let refused = state.refused_sales.clone();
    update(
        &mut state,
        Msg::Journal(JournalStatus {
            pending: 2,
            refused,
            warning: Some(
                "journal damaged: unreadable line 3 moved to /var/lib/icash/till.jsonl.quarantine; \
                 every other sale is kept"
                    .into(),
            ),
        }),
    );
    snapshot("journal_repaired", &state);
    press(&mut state, "R");
    snapshot("journal_repaired_refused_list", &state);
}

#[test]
fn offline_customer_search() {
    let mut state = selling();
    for id in [
        "0a000000-0000-4000-8000-000000000001",
        "0a1b0000-0000-4000-8000-000000000002",
        "c0ffee00-0000-4000-8000-000000000003",
    ] {
        state.vouched.insert(Uuid::parse_str(id).unwrap());
    }
    update(
        &mut state,
        Msg::Tick(noon() + chrono::Duration::seconds(61)),
    );
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    press(&mut state, "c0a");
    update(&mut state, key(KeyCode::Down));
    snapshot_every_size("offline_customer_search", &state);
}

/// Names from the database are drawn escaped: a right-to-left override or a control character
/// in a product or branch name is spelled out, never sent to the terminal.
#[test]
fn stored_names_with_bidi_and_control_characters_are_drawn_escaped() {
    let mut hostile = catalog();
    hostile.products[0].name = "mi\u{202e}lk\x1b[2J".into();
    hostile.branches[0].name = "Harbour\u{202e}Road\x07".into();
    let mut state = till("test database", None);
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Ok(hostile)));
    let raw = |screen: &str| screen.contains(['\u{202e}', '\x1b', '\x07']);

    let choice = render(&state, 80, 24);
    assert!(!raw(&choice), "{choice}");
    assert!(
        choice.contains("Harbour\\u{202e}Road\\u{7}"),
        "the branch list shows the name escaped:\n{choice}"
    );

    press(&mut state, "1n1\r");
    assert_eq!(cart(&state), [1]);
    let sale = render(&state, 100, 30);
    assert!(!raw(&sale), "{sale}");
    let escaped = "mi\\u{202e}lk\\u{1b}[2J";
    // The cart line and the quick key both name the product.
    assert!(
        sale.matches(escaped).count() >= 2,
        "the cart and the quick keys show the name escaped:\n{sale}"
    );
    assert!(
        sale.contains("Harbour\\u{202e}Road\\u{7}"),
        "the header shows the branch escaped:\n{sale}"
    );
}

/// A cart longer than the screen scrolls to keep the selected line in view, at the bottom
/// while the newest line is selected and back up with the arrows.
#[test]
fn a_long_cart_scrolls_to_the_selected_line() {
    let mut state = selling();
    press(&mut state, "n1\r2\r3\r4\r5\r6\r7\r8\r9\r10\r");
    let screen = render(&state, 60, 20);
    assert!(screen.contains("orange juice"), "{screen}");
    assert!(!screen.contains(" milk "), "{screen}");
    snapshot_at("long_cart_end@60x20", &state, 60, 20);
    for _ in 0..9 {
        update(&mut state, key(KeyCode::Up));
    }
    let screen = render(&state, 60, 20);
    assert!(screen.contains("▶ 1."), "{screen}");
    snapshot_at("long_cart_start@60x20", &state, 60, 20);
}

/// A receipt longer than the screen says how many lines it leaves out.
#[test]
fn a_long_receipt_says_how_many_lines_are_not_shown() {
    let mut state = selling();
    press(&mut state, "n1\r2\r3\r4\r5\r6\r7\r8\r9\r10\r");
    let sale = submit(&mut state);
    let lines: Vec<ReceiptLine> = catalog()
        .products
        .iter()
        .map(|p| ReceiptLine {
            product_id: p.id,
            name: p.name.clone(),
            unit_price: p.unit_price,
        })
        .collect();
    let receipt = Receipt {
        purchase_id: 3002,
        sale_key: sale.sale_key,
        supermarket_id: sale.supermarket_id.clone(),
        user_id: sale.customer.user_id(),
        new_customer: true,
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: lines.iter().map(|l| l.unit_price).sum(),
        lines,
        replayed: false,
        till: None,
        cashier: None,
        receipt_no: None,
        payment_method: None,
        tendered: None,
        change_due: None,
    };
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt)),
        },
    );
    let screen = render(&state, 60, 20);
    assert!(screen.contains("more line(s)"), "{screen}");
    snapshot_at("long_receipt@60x20", &state, 60, 20);
    assert!(!render(&state, 80, 40).contains("more line(s)"));
}

/// On a small terminal the help scrolls down to its last keys.
#[test]
fn the_help_scrolled_to_its_end_on_a_small_terminal() {
    let mut state = selling();
    update(
        &mut state,
        Msg::Resize {
            width: 60,
            height: 20,
        },
    );
    press(&mut state, "?");
    for _ in 0..100 {
        update(&mut state, key(KeyCode::Down));
    }
    let screen = render(&state, 60, 20);
    assert!(screen.contains("refused queued sales"), "{screen}");
    snapshot_at("help_scrolled_to_the_end@60x20", &state, 60, 20);
}

/// Wide characters are measured as two columns; a name that does not fit ends in "…" and the
/// prices and the total are whole at every size.
#[test]
fn long_and_wide_names_are_cut_visibly_and_numbers_never() {
    let mut wide = catalog();
    wide.products[0].name = "日本語のとても長い商品名ですよ本当に".into();
    wide.products[0].unit_price = price(1_234_567);
    let mut state = till("test database", None);
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Ok(wide)));
    press(&mut state, "1n1\r2\r");
    for (width, height) in [(80, 24), (60, 20), (40, 12), (200, 60)] {
        let screen = render(&state, width, height);
        assert!(screen.contains("12345.67"), "{width}x{height}:\n{screen}");
        assert!(screen.contains("2.00"), "{width}x{height}:\n{screen}");
        // Whole where there is room (200 columns), cut visibly elsewhere.
        assert_eq!(
            screen.contains("…"),
            width < 200,
            "{width}x{height}:\n{screen}"
        );
        // The total, in the block font or in digits.
        assert!(
            screen.contains("12347.67") || screen.contains("█"),
            "{width}x{height}:\n{screen}"
        );
    }
    snapshot_at("wide_names@40x12", &state, 40, 12);
}
