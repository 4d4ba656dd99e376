//! The till's state machine, flow by flow: `update(&mut State, Msg) -> Vec<Effect>`.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pos_tui::app::{
    BranchChoice, CatalogLoad, DRAIN_EVERY, DbFailure, DbState, DrainRound, Effect, Input,
    KeptCatalog, LineStatus, Message, Msg, Overlay, Question, RefusedAction, Screen, SignIn, State,
    update,
};
use pos_tui::keymap::Mode;
use store_core::domain::catalog::CustomerSummary;
use store_core::domain::checkout::{CustomerChoice, Receipt, ReceiptLine, Sale};
use store_core::error::CheckoutError;
use store_core::till::journal::{DrainReport, Outcome, RefusedSale};
use uuid::Uuid;

fn error_text(state: &State) -> String {
    match state.message() {
        Some(Message::Error(text)) => text.clone(),
        other => panic!("expected an error message, got {other:?}"),
    }
}

fn info_text(state: &State) -> String {
    match state.message() {
        Some(Message::Info(text)) => text.clone(),
        other => panic!("expected an info message, got {other:?}"),
    }
}

fn submitted_sale(effects: Vec<Effect>) -> Sale {
    match effects.as_slice() {
        [Effect::Submit(sale)] => (**sale).clone(),
        other => panic!("expected one Submit effect, got {other:?}"),
    }
}

fn receipt_for(sale: &Sale) -> Receipt {
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
        new_customer: sale.customer.is_new(),
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: lines.iter().map(|l| l.unit_price).sum(),
        lines,
        replayed: false,
        till: sale.till.clone(),
        cashier: sale.cashier,
        receipt_no: Some(1),
        payment_method: None,
        tendered: None,
        change_due: None,
    }
}

/// A sale at SMKT001 for a new customer with milk, bread and eggs.
fn ready_to_submit() -> State {
    let mut state = selling();
    press(&mut state, "n1\r2\r3\r");
    state
}

// ---- branch choice ----

#[test]
fn the_till_starts_on_the_branch_choice_and_loads_the_catalog() {
    let mut state = till("db", None);
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    assert_eq!(state.db, DbState::Connecting);
    // Choosing before the catalog is there says why nothing happens.
    assert_eq!(press(&mut state, "\r"), vec![]);
    assert!(error_text(&state).contains("not loaded"));
    assert_eq!(
        update(&mut state, Msg::Tick(noon())),
        vec![Effect::LoadCatalog]
    );
    // A second tick while loading does not start a second load.
    assert_eq!(update(&mut state, Msg::Tick(noon())), vec![]);
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(state.db, DbState::Connected);
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
}

#[test]
fn branch_is_chosen_with_the_arrows_and_enter() {
    let mut state = loaded();
    press(&mut state, "");
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down)); // stays on the last one
    assert!(matches!(
        state.screen,
        Screen::Branch(BranchChoice { cursor: 2, .. })
    ));
    update(&mut state, key(KeyCode::Up));
    press(&mut state, "\r");
    assert_eq!(state.branch.as_deref(), Some("SMKT002"));
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    let draft = state.draft().unwrap();
    assert!(draft.customer.is_none());
    assert!(draft.lines().is_empty());
}

#[test]
fn branch_is_chosen_by_number_and_a_wrong_number_is_refused() {
    let mut state = loaded();
    press(&mut state, "7");
    assert!(error_text(&state).contains("no branch number 7"));
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    press(&mut state, "3");
    assert_eq!(state.branch.as_deref(), Some("SMKT003"));
}

#[test]
fn supermarket_argument_chooses_the_branch_once_the_catalog_confirms_it() {
    let mut state = till("db", Some("SMKT002"));
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(state.branch.as_deref(), Some("SMKT002"));
    assert!(state.screen.is_sale(), "{:?}", state.screen);

    let mut state = till("db", Some("SMKT009"));
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    assert!(error_text(&state).contains("no branch SMKT009"));
}

#[test]
fn branch_can_change_only_while_the_sale_is_empty() {
    let mut state = selling();
    press(&mut state, "1\r");
    press(&mut state, "b");
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert!(error_text(&state).contains("before changing branch"));
    press(&mut state, "-b");
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    press(&mut state, "2");
    assert!(state.screen.is_sale());
    assert_eq!(state.branch.as_deref(), Some("SMKT002"));
}

// ---- customers ----

#[test]
fn new_customer_gets_a_fresh_uuid_v4_shown_to_the_cashier() {
    let mut state = selling();
    press(&mut state, "n");
    let Some(CustomerChoice::New(first)) = state.draft().unwrap().customer else {
        panic!("expected a new customer");
    };
    assert_eq!(first.get_version_num(), 4);
    assert!(info_text(&state).contains(&first.to_string()));
    press(&mut state, "n");
    let second = state.draft().unwrap().customer.unwrap().user_id();
    assert_ne!(first, second);
}

#[test]
fn customer_search_is_debounced_and_only_the_latest_result_counts() {
    let mut state = selling();
    assert_eq!(press(&mut state, "c"), vec![]);
    assert_eq!(
        press(&mut state, "0"),
        vec![Effect::DebounceCustomerSearch { seq: 1 }]
    );
    assert_eq!(
        press(&mut state, "1"),
        vec![Effect::DebounceCustomerSearch { seq: 2 }]
    );
    // The first timer is stale: no search.
    assert_eq!(
        update(&mut state, Msg::CustomerSearchDue { seq: 1 }),
        vec![]
    );
    assert_eq!(
        update(&mut state, Msg::CustomerSearchDue { seq: 2 }),
        vec![Effect::SearchCustomers {
            seq: 2,
            prefix: "01".into()
        }]
    );
    let found = |id: &str, purchases| CustomerSummary {
        user_id: Uuid::parse_str(id).unwrap(),
        purchases,
        last_purchase_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap(),
    };
    // A late answer to an older search is ignored.
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 1,
            result: Ok(vec![found("0aaaaaaa-0000-4000-8000-000000000000", 1)]),
        },
    );
    let Some(Input::CustomerSearch { results, .. }) = state.input() else {
        panic!("still searching");
    };
    assert!(results.is_empty());
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Ok(vec![
                found("01000000-0000-4000-8000-000000000001", 4),
                found("01ffffff-0000-4000-8000-000000000002", 2),
            ]),
        },
    );
    let Some(Input::CustomerSearch { results, .. }) = state.input() else {
        panic!("still searching");
    };
    assert_eq!(results.len(), 2);
    update(&mut state, key(KeyCode::Down));
    press(&mut state, "\r");
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::Returning(
            Uuid::parse_str("01ffffff-0000-4000-8000-000000000002").unwrap()
        ))
    );
    assert!(matches!(state.input(), Some(Input::Code(_))));
}

#[test]
fn customer_search_explains_what_is_not_hex_and_runs_no_query() {
    let mut state = selling();
    press(&mut state, "c");
    assert_eq!(
        press(&mut state, "z"),
        vec![Effect::DebounceCustomerSearch { seq: 1 }]
    );
    assert_eq!(
        update(&mut state, Msg::CustomerSearchDue { seq: 1 }),
        vec![]
    );
    assert!(error_text(&state).contains("hex"), "{:?}", state.message());
}

#[test]
fn customer_search_failure_is_shown_and_enter_without_results_keeps_searching() {
    let mut state = selling();
    press(&mut state, "cab");
    update(&mut state, Msg::CustomerSearchDue { seq: 2 });
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Err(DbFailure {
                message: "cannot reach the database".into(),
                connection: true,
            }),
        },
    );
    // Unreachable: the search turns into the offline list (empty: nothing vouched yet).
    assert!(error_text(&state).contains("customer search is unavailable"));
    assert!(matches!(state.db, DbState::Reconnecting(ref r) if r.contains("cannot reach")));
    assert!(matches!(
        state.input(),
        Some(Input::CustomerSearch { offline: true, .. })
    ));
    press(&mut state, "\r");
    assert!(matches!(state.input(), Some(Input::CustomerSearch { .. })));
    assert!(state.draft().unwrap().customer.is_none());
    press(&mut state, "\x1b");
    assert!(matches!(state.input(), Some(Input::Code(_))));

    // Any other failure is said as it is, and the search stays a search.
    let mut state = selling();
    press(&mut state, "cab");
    update(&mut state, Msg::CustomerSearchDue { seq: 2 });
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Err(DbFailure {
                message: "permission denied for table customer".into(),
                connection: false,
            }),
        },
    );
    assert_eq!(
        error_text(&state),
        "customer search failed: permission denied for table customer"
    );
    assert!(matches!(
        state.input(),
        Some(Input::CustomerSearch { offline: false, .. })
    ));
}

// ---- adding products ----

#[test]
fn products_are_added_by_code_and_enter() {
    let mut state = selling();
    press(&mut state, "1");
    assert_eq!(state.input(), Some(&Input::Code("1".into())));
    press(&mut state, "0\r");
    assert_eq!(cart(&state), vec![10]);
    assert!(info_text(&state).contains("orange juice"));
    assert_eq!(state.input(), Some(&Input::Code(String::new())));
    press(&mut state, "4\r");
    assert_eq!(cart(&state), vec![10, 4]);
    assert_eq!(state.total(), price(280 + 650));
}

#[test]
fn backspace_and_escape_edit_the_code() {
    let mut state = selling();
    press(&mut state, "12\x08");
    assert_eq!(state.input(), Some(&Input::Code("1".into())));
    press(&mut state, "5\x1b");
    assert_eq!(state.input(), Some(&Input::Code(String::new())));
    press(&mut state, "\r");
    assert!(cart(&state).is_empty());
}

#[test]
fn an_unknown_code_is_refused() {
    let mut state = selling();
    press(&mut state, "42\r");
    assert!(cart(&state).is_empty());
    assert!(error_text(&state).contains("unknown product code 42"));
}

#[test]
fn products_are_added_by_quick_key() {
    let mut state = selling();
    update(&mut state, key(KeyCode::F(3)));
    update(&mut state, key(KeyCode::F(10)));
    assert_eq!(cart(&state), vec![3, 10]);
}

#[test]
fn products_are_found_by_name() {
    let mut state = selling();
    press(&mut state, "/");
    assert_eq!(state.mode(), pos_tui::keymap::Mode::ProductSearch);
    press(&mut state, "CH");
    // "chicken" and "cheese" both match (case-insensitive); the second is chosen.
    let Some(Input::ProductSearch { query, .. }) = state.input() else {
        panic!("searching");
    };
    let names: Vec<&str> = state
        .product_matches(query)
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, vec!["chicken", "cheese"]);
    update(&mut state, key(KeyCode::Down));
    press(&mut state, "\r");
    assert_eq!(cart(&state), vec![8]);
    assert!(matches!(state.input(), Some(Input::Code(_))));
    // Digits are letters of the name in a search, not codes.
    press(&mut state, "/9\r");
    assert!(error_text(&state).contains("no product name contains"));
    assert_eq!(cart(&state), vec![8]);
}

#[test]
fn a_product_already_in_the_cart_is_not_added_twice() {
    let mut state = selling();
    press(&mut state, "3\r3\r");
    assert_eq!(cart(&state), vec![3]);
    assert!(error_text(&state).contains("eggs is already in the cart"));
    update(&mut state, key(KeyCode::F(3)));
    assert_eq!(cart(&state), vec![3]);
}

// ---- removing ----

#[test]
fn the_selected_line_is_removed() {
    let mut state = selling();
    press(&mut state, "1\r2\r3\r");
    assert_eq!(state.draft().unwrap().selected, 2);
    update(&mut state, key(KeyCode::Up));
    update(&mut state, key(KeyCode::Up));
    press(&mut state, "x");
    assert_eq!(cart(&state), vec![2, 3]);
    assert!(info_text(&state).contains("removed milk"));
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Delete));
    assert_eq!(cart(&state), vec![2]);
    assert_eq!(state.draft().unwrap().selected, 0);
}

#[test]
fn the_last_line_is_removed() {
    let mut state = selling();
    press(&mut state, "5\r6\r7\r");
    update(&mut state, key(KeyCode::Up));
    update(&mut state, key(KeyCode::Up));
    press(&mut state, "-");
    assert_eq!(cart(&state), vec![5, 6]);
    press(&mut state, "--");
    assert!(cart(&state).is_empty());
    press(&mut state, "-");
    assert!(info_text(&state).contains("empty"));
}

#[test]
fn clearing_the_cart_asks_first() {
    let mut state = selling();
    press(&mut state, "n1\r2\r");
    press(&mut state, "X");
    assert_eq!(state.input(), Some(&Input::Confirm(Question::ClearCart)));
    press(&mut state, "n");
    assert_eq!(cart(&state), vec![1, 2]);
    // "n" answered the question: it did not make a new customer either.
    press(&mut state, "X\x1b");
    assert_eq!(cart(&state), vec![1, 2]);
    press(&mut state, "Xy");
    assert!(cart(&state).is_empty());
    assert_eq!(state.input(), Some(&Input::Code(String::new())));
}

// ---- submitting ----

#[test]
fn an_empty_cart_is_not_submitted() {
    let mut state = selling();
    press(&mut state, "n");
    assert_eq!(press(&mut state, "s"), vec![]);
    assert!(error_text(&state).contains("cart is empty"));
    assert!(!state.is_submitting());
}

#[test]
fn a_sale_without_a_customer_is_not_submitted() {
    let mut state = selling();
    press(&mut state, "1\r");
    assert_eq!(press(&mut state, "s"), vec![]);
    assert!(error_text(&state).contains("choose the customer"));
}

#[test]
fn submit_sends_the_sale_once_with_its_key_and_expected_total() {
    let mut state = ready_to_submit();
    let key = state.draft().unwrap().sale_key;
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.sale_key, key);
    assert_eq!(sale.product_ids, vec![1, 2, 3]);
    assert_eq!(sale.expected_total, Some(price(650)));
    assert_eq!(sale.supermarket_id, "SMKT001");
    assert!(sale.customer.is_new());
    assert!(state.is_submitting());
    assert_eq!(state.draft().unwrap().sale_key, key);
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Submitting);
    // A second press (or F12, or anything else) does nothing while the sale is written.
    assert_eq!(press(&mut state, "s"), vec![]);
    assert_eq!(update(&mut state, common::key(KeyCode::F(12))), vec![]);
    assert_eq!(press(&mut state, "4\rx-Xq"), vec![]);
    assert_eq!(cart(&state), vec![1, 2, 3]);
    assert!(!state.quit);
    // Ctrl+C does not abandon a sale being written.
    update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(!state.quit);
    assert!(state.is_submitting());
    assert_eq!(state.draft().unwrap().sale_key, key);
}

#[test]
fn a_failed_submit_keeps_the_cart_and_the_retry_uses_the_same_key() {
    let mut state = ready_to_submit();
    let first = submitted_sale(press(&mut state, "s"));
    update(
        &mut state,
        Msg::Submitted {
            sale_key: first.sale_key,
            result: Err(CheckoutError::Unavailable("connection refused".into())),
        },
    );
    assert!(!state.is_submitting());
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert_eq!(cart(&state), vec![1, 2, 3]);
    let text = error_text(&state);
    assert!(text.contains("press s to retry"), "{text}");
    assert!(text.contains("cannot be charged twice"), "{text}");
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    let retry = submitted_sale(press(&mut state, "s"));
    assert_eq!(retry.sale_key, first.sale_key);
    assert_eq!(retry.customer, first.customer);
    assert_eq!(retry.product_ids, first.product_ids);
}

#[test]
fn a_sale_the_journal_could_not_save_is_explained_and_kept_for_a_retry() {
    let mut state = ready_to_submit();
    let db_before = state.db.clone();
    let first = submitted_sale(press(&mut state, "s"));
    update(
        &mut state,
        Msg::Submitted {
            sale_key: first.sale_key,
            result: Err(CheckoutError::Journal(
                "writing /var/lib/till.journal: No space left on device (os error 28)".into(),
            )),
        },
    );
    let text = error_text(&state);
    assert!(
        text.contains("could not save the sale to its journal"),
        "{text}"
    );
    assert!(text.contains("No space left on device"), "{text}");
    assert!(
        text.contains("not sent") && text.contains("not charged"),
        "{text}"
    );
    assert!(!text.contains("database refused"), "{text}");
    // Not a connection problem: the link's state is left as it was.
    assert_eq!(state.db, db_before);
    assert_eq!(cart(&state), vec![1, 2, 3]);
    let retry = submitted_sale(press(&mut state, "s"));
    assert_eq!(retry.sale_key, first.sale_key);
}

#[test]
fn success_shows_the_receipt_and_the_next_key_opens_a_sale_with_a_new_key() {
    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    let receipt = receipt_for(&sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt.clone())),
        },
    );
    assert_eq!(state.screen, Screen::Receipt(Box::new(receipt)));
    assert_eq!(state.sales_done, 1);
    assert!(state.draft().is_none());
    // A late duplicate answer changes nothing.
    let before = state.clone();
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Err(CheckoutError::Unavailable("late".into())),
        },
    );
    assert_eq!(state, before);
    // The next key (here the first digit of the next code) starts the next sale.
    press(&mut state, "5");
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert_eq!(state.input(), Some(&Input::Code("5".into())));
    let draft = state.draft().unwrap();
    assert_ne!(draft.sale_key, sale.sale_key);
    assert!(draft.customer.is_none());
    assert!(draft.lines().is_empty());
    assert_eq!(state.branch.as_deref(), Some("SMKT001"));
}

#[test]
fn a_price_change_is_caught_shown_and_the_catalog_reloaded() {
    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    let effects = update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Err(CheckoutError::TotalMismatch {
                expected: price(650),
                actual: price(700),
            }),
        },
    );
    assert_eq!(effects, vec![Effect::LoadCatalog]);
    let text = error_text(&state);
    assert!(text.contains("Prices changed") && text.contains("6.50") && text.contains("7.00"));
    assert!(text.contains("Not charged"), "{text}");
    assert_eq!(cart(&state), vec![1, 2, 3]);
    // The new prices arrive: the cart's total follows, and the retry (same key) expects it.
    let mut new_prices = catalog();
    new_prices.products[0].unit_price = price(200);
    update(&mut state, Msg::CatalogLoaded(Ok(new_prices)));
    assert_eq!(state.total(), price(700));
    // The first s after the change asks to confirm the new total.
    assert_eq!(press(&mut state, "s"), vec![]);
    let retry = submitted_sale(press(&mut state, "y"));
    assert_eq!(retry.sale_key, sale.sale_key);
    assert_eq!(retry.expected_total, Some(price(700)));
}

#[test]
fn a_product_dropped_from_the_catalog_blocks_submit_until_removed() {
    let mut state = ready_to_submit();
    let mut smaller = catalog();
    smaller.products.retain(|p| p.id != 2);
    update(&mut state, Msg::CatalogChanged);
    update(&mut state, Msg::CatalogLoaded(Ok(smaller)));
    assert_eq!(press(&mut state, "s"), vec![]);
    assert!(error_text(&state).contains("product 2 is no longer sold"));
    update(&mut state, key(KeyCode::Up));
    press(&mut state, "x");
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.product_ids, vec![1, 3]);
}

// ---- catalog refresh and connection state ----

#[test]
fn the_catalog_is_refreshed_every_minute_and_on_notice() {
    let mut state = selling();
    assert_eq!(
        update(&mut state, Msg::Tick(noon() + Duration::seconds(59))),
        vec![]
    );
    assert_eq!(
        update(&mut state, Msg::Tick(noon() + Duration::seconds(60))),
        vec![Effect::LoadCatalog]
    );
    // A notice while loading: one more load after this one, not two at once.
    assert_eq!(update(&mut state, Msg::CatalogChanged), vec![]);
    let mut dearer = catalog();
    dearer.products[2].unit_price = price(320);
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Ok(dearer.clone()))),
        vec![Effect::SaveCatalog(Box::new(dearer)), Effect::LoadCatalog]
    );
    assert_eq!(state.product(3).unwrap().unit_price, price(320));
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(
        update(&mut state, Msg::CatalogChanged),
        vec![Effect::LoadCatalog]
    );
}

#[test]
fn a_failed_refresh_keeps_the_catalog_shows_reconnecting_and_backs_off() {
    let mut state = selling();
    press(&mut state, "1\r");
    let now = noon() + Duration::seconds(60);
    assert_eq!(
        update(&mut state, Msg::Tick(now)),
        vec![Effect::LoadCatalog]
    );
    let down = || {
        Msg::CatalogLoaded(Err(DbFailure {
            message: "connection refused".into(),
            connection: true,
        }))
    };
    update(&mut state, down());
    assert_eq!(state.db, DbState::Reconnecting("connection refused".into()));
    assert!(state.catalog.is_some());
    assert_eq!(cart(&state), vec![1]);
    // Retried after a short pause, then less and less often.
    assert_eq!(
        update(&mut state, Msg::Tick(now + Duration::seconds(1))),
        vec![]
    );
    assert_eq!(
        update(&mut state, Msg::Tick(now + Duration::seconds(2))),
        vec![Effect::LoadCatalog]
    );
    let later = now + Duration::seconds(2);
    update(&mut state, down());
    assert_eq!(
        update(&mut state, Msg::Tick(later + Duration::seconds(3))),
        vec![]
    );
    assert_eq!(
        update(&mut state, Msg::Tick(later + Duration::seconds(4))),
        vec![Effect::LoadCatalog]
    );
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(state.db, DbState::Connected);
}

// ---- quitting and help ----

#[test]
fn quitting_with_an_open_sale_asks_first() {
    let mut state = selling();
    press(&mut state, "2\r");
    press(&mut state, "q");
    assert!(!state.quit);
    assert_eq!(state.input(), Some(&Input::Confirm(Question::QuitWithCart)));
    press(&mut state, "n");
    assert!(!state.quit);
    assert_eq!(cart(&state), vec![2]);
    press(&mut state, "qy");
    assert!(state.quit);

    let mut state = selling();
    press(&mut state, "q");
    assert!(state.quit);
}

#[test]
fn help_opens_with_question_mark_and_any_key_closes_it() {
    let mut state = selling();
    press(&mut state, "?");
    assert!(matches!(state.overlay, Some(Overlay::Help { .. })));
    // The key that closes the help does nothing else.
    press(&mut state, "1");
    assert_eq!(state.overlay, None);
    assert_eq!(state.input(), Some(&Input::Code(String::new())));
}

// ---- offline: queued sales ----

fn status(pending: usize, refused: Vec<RefusedSale>) -> pos_tui::app::JournalStatus {
    pos_tui::app::JournalStatus {
        pending,
        refused,
        warning: None,
    }
}

fn offline() -> DbFailure {
    DbFailure {
        message: "cannot reach the database".into(),
        connection: true,
    }
}

#[test]
fn an_unreachable_database_queues_the_sale_and_the_till_keeps_selling() {
    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    let mut saved = sale.clone();
    saved.sold_at = Some(Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 1).unwrap());
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Queued(saved.clone())),
        },
    );
    let Screen::Queued(queued) = &state.screen else {
        panic!("expected the queued receipt, got {:?}", state.screen);
    };
    assert_eq!(queued.sale, saved);
    let names: Vec<&str> = queued.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["milk", "bread", "eggs"]);
    // The total the till showed, which is what the customer paid.
    assert_eq!(queued.total, price(650));
    assert!(info_text(&state).contains("will be sent when the database is back"));
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    assert_eq!(state.sales_done, 1);
    assert_eq!(state.pending_sales, 1);
    assert!(!state.is_submitting());
    // The journal's count replaces the till's guess.
    update(&mut state, Msg::Journal(status(2, vec![])));
    assert_eq!(state.pending_sales, 2);

    // The next key opens the next sale, with a new key.
    press(&mut state, " ");
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert_ne!(state.draft().unwrap().sale_key, sale.sale_key);

    // Queued sales are sent a few seconds later, one round at a time.
    assert!(!update(&mut state, Msg::Tick(noon() + Duration::seconds(1))).contains(&Effect::Drain));
    assert!(update(&mut state, Msg::Tick(noon() + Duration::seconds(3))).contains(&Effect::Drain));
    assert_eq!(state.drain, DrainRound::Running);
    assert!(!update(&mut state, Msg::Tick(noon() + Duration::seconds(7))).contains(&Effect::Drain));
    // Still unreachable: nothing said, tried again later.
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 0,
                refused: 0,
                still_pending: 2,
                ..DrainReport::default()
            }),
            status: status(2, vec![]),
        },
    );
    assert_ne!(state.drain, DrainRound::Running);
    assert_eq!(state.pending_sales, 2);
    assert!(!update(&mut state, Msg::Tick(noon() + Duration::seconds(8))).contains(&Effect::Drain));
    assert!(update(&mut state, Msg::Tick(noon() + Duration::seconds(10))).contains(&Effect::Drain));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 2,
                refused: 0,
                still_pending: 0,
                ..DrainReport::default()
            }),
            status: status(0, vec![]),
        },
    );
    assert_eq!(state.pending_sales, 0);
    assert_eq!(state.db, DbState::Connected);
    assert!(info_text(&state).contains("2 queued sale(s) sent"));
    // Nothing waits: no more rounds.
    assert!(
        !update(&mut state, Msg::Tick(noon() + Duration::seconds(30))).contains(&Effect::Drain)
    );
}

#[test]
fn sales_left_in_the_journal_are_sent_at_start_and_on_reconnect_but_not_during_a_submit() {
    let mut state = till("db", None);
    update(&mut state, Msg::Journal(status(3, vec![])));
    assert_eq!(
        update(&mut state, Msg::Tick(noon())),
        vec![Effect::LoadCatalog, Effect::Drain]
    );
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    update(
        &mut state,
        Msg::Drained {
            result: Err(offline()),
            status: status(3, vec![]),
        },
    );
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    // An unreachable database is not an error message: the status bar says it.
    assert!(!matches!(state.message(), Some(Message::Error(_))));
    // The listener is back: the catalog is reloaded and the sales sent at once.
    assert_eq!(
        update(&mut state, Msg::Listening),
        vec![Effect::LoadCatalog, Effect::Drain]
    );
    // A catalog change announced meanwhile is just that.
    assert_eq!(update(&mut state, Msg::CatalogChanged), vec![]);
    assert_eq!(state.catalog_load, CatalogLoad::Running { again: true });
    update(
        &mut state,
        Msg::Drained {
            result: Err(offline()),
            status: status(3, vec![]),
        },
    );

    // A catalog load that works again after failures sends them too.
    let mut state = till("db", None);
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    update(&mut state, Msg::Journal(status(1, vec![])));
    state.drain = DrainRound::Running; // a round already running is not doubled
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Ok(catalog()))),
        vec![Effect::SaveCatalog(Box::new(catalog()))]
    );
    state.drain = DrainRound::Due(state.since_start);
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Ok(catalog()))),
        vec![Effect::SaveCatalog(Box::new(catalog())), Effect::Drain]
    );

    // No round starts while a sale is being written (it may be the newest queued one).
    let mut state = ready_to_submit();
    update(&mut state, Msg::Journal(status(1, vec![])));
    submitted_sale(press(&mut state, "s"));
    assert!(
        !update(&mut state, Msg::Tick(noon() + Duration::seconds(60))).contains(&Effect::Drain)
    );
    assert!(!update(&mut state, Msg::Listening).contains(&Effect::Drain));
}

#[test]
fn refused_queued_sales_are_counted_kept_and_listed_with_r() {
    let mut state = selling();
    press(&mut state, "R");
    assert_eq!(info_text(&state), "no queued sale has been refused");
    assert_eq!(state.refused_selected(), None);

    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![3, 99];
    let refused = RefusedSale {
        sale,
        reason: "unknown product: 99".into(),
    };
    update(&mut state, Msg::Journal(status(1, vec![])));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(5)));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 0,
                refused: 1,
                still_pending: 0,
                ..DrainReport::default()
            }),
            status: status(0, vec![refused.clone()]),
        },
    );
    assert_eq!(state.refused_sales, vec![refused]);
    assert!(error_text(&state).contains("refused 1 queued sale(s): R lists them"));
    press(&mut state, "R");
    assert!(state.refused_selected().is_some());
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Refused);
    // Any key closes the list, and does nothing else.
    let effects = press(&mut state, "s");
    assert!(effects.is_empty());
    assert_eq!(state.refused_selected(), None);
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Sale);
    // Still there, still counted: never dropped.
    assert_eq!(state.refused_sales.len(), 1);
}

#[test]
fn offline_a_returning_customer_is_offered_only_from_those_the_database_confirmed() {
    let known = Uuid::parse_str("0a000000-0000-4000-8000-000000000001").unwrap();
    let other = Uuid::parse_str("0b000000-0000-4000-8000-000000000002").unwrap();
    let mut state = selling();
    // Online, a search confirms a customer.
    press(&mut state, "c0");
    update(&mut state, Msg::CustomerSearchDue { seq: 1 });
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 1,
            result: Ok(vec![CustomerSummary {
                user_id: known,
                purchases: 3,
                last_purchase_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap(),
            }]),
        },
    );
    press(&mut state, "\x1b");
    // A receipt confirms its customer too.
    press(&mut state, "n1\r");
    let sale = submitted_sale(press(&mut state, "s"));
    let receipt = receipt_for(&sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt.clone())),
        },
    );
    assert!(state.vouched.contains(&known) && state.vouched.contains(&receipt.user_id));
    press(&mut state, " ");

    // The database goes away.
    update(&mut state, Msg::Tick(noon() + Duration::seconds(61)));
    update(&mut state, Msg::CatalogLoaded(Err(offline())));
    assert!(state.is_offline());
    assert_eq!(press(&mut state, "c"), vec![]);
    assert!(error_text(&state).contains("customer search is unavailable"));
    assert!(matches!(
        state.input(),
        Some(Input::CustomerSearch { offline: true, .. })
    ));
    assert_eq!(state.vouched_matches("").len(), 2);
    // Typing filters the vouched customers; no query is ever run.
    assert_eq!(press(&mut state, "0a"), vec![]);
    assert_eq!(state.vouched_matches("0a"), vec![known]);
    assert_eq!(press(&mut state, "z"), vec![]);
    assert!(error_text(&state).contains("hex"));
    press(&mut state, "\x08\r");
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::Returning(known))
    );
    // Nothing matches: nothing is chosen.
    press(&mut state, "c0b\r");
    assert!(error_text(&state).contains("no customer chosen"));
    press(&mut state, "\x1b");
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::Returning(known))
    );
    // A returning customer the till cannot vouch for is not sold to.
    press(&mut state, "2\r");
    state.draft_mut().unwrap().customer = Some(CustomerChoice::Returning(other));
    assert_eq!(press(&mut state, "s"), vec![]);
    assert!(error_text(&state).contains("not been confirmed by the database"));
    // The vouched one is (and a new customer always is).
    state.draft_mut().unwrap().customer = Some(CustomerChoice::Returning(known));
    submitted_sale(press(&mut state, "s"));
}

fn refused_sale(products: &[i32]) -> RefusedSale {
    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = products.to_vec();
    RefusedSale {
        reason: format!("unknown product: {}", products[products.len() - 1]),
        sale,
    }
}

#[test]
fn a_refused_sale_is_resent_from_the_list_and_sent_at_once() {
    let mut state = selling();
    let (first, second) = (refused_sale(&[3, 98]), refused_sale(&[99]));
    update(
        &mut state,
        Msg::Journal(status(0, vec![first.clone(), second.clone()])),
    );
    press(&mut state, "R");
    // The second one is chosen and resent.
    update(&mut state, key(KeyCode::Down));
    update(&mut state, key(KeyCode::Down));
    assert_eq!(state.refused_selected(), Some(1));
    assert_eq!(
        press(&mut state, "r"),
        vec![Effect::ResendRefused(second.sale.sale_key)]
    );
    assert!(
        state.refused_selected().is_some(),
        "the list stays until the journal answers"
    );
    // The journal has it back in the queue: a round starts at once.
    let effects = update(
        &mut state,
        Msg::RefusedSaleHandled {
            sale_key: second.sale.sale_key,
            action: RefusedAction::Resend,
            result: Ok(()),
            status: status(1, vec![first.clone()]),
        },
    );
    assert_eq!(effects, vec![Effect::Drain]);
    assert!(info_text(&state).contains("back in the queue"));
    assert_eq!(state.pending_sales, 1);
    assert_eq!(state.refused_sales, vec![first.clone()]);
    assert_eq!(
        state.refused_selected(),
        Some(0),
        "the selection follows the shorter list"
    );
    assert!(state.refused_selected().is_some());

    // A journal that cannot write says so; nothing changes.
    press(&mut state, "r");
    update(
        &mut state,
        Msg::RefusedSaleHandled {
            sale_key: first.sale.sale_key,
            action: RefusedAction::Resend,
            result: Err("writing till.jsonl: No space left on device".into()),
            status: status(1, vec![first.clone()]),
        },
    );
    assert!(error_text(&state).contains("No space left on device"));
    assert_eq!(state.refused_sales, vec![first]);
}

#[test]
fn a_refused_sale_is_set_aside_with_a_typed_reason() {
    let mut state = selling();
    let refused = refused_sale(&[3, 99]);
    update(&mut state, Msg::Journal(status(0, vec![refused.clone()])));
    press(&mut state, "R");
    assert_eq!(press(&mut state, "a"), vec![]);
    assert_eq!(state.mode(), pos_tui::keymap::Mode::SetAsideReason);
    // No reason, no setting aside.
    assert_eq!(press(&mut state, "   \r"), vec![]);
    assert!(error_text(&state).contains("type why"));
    assert_eq!(state.mode(), pos_tui::keymap::Mode::SetAsideReason);
    // Letters are the reason here, not keys: `r` and `q` do not resend or quit.
    press(&mut state, "\x08\x08\x08");
    press(&mut state, "price wrong, refunded");
    update(&mut state, Msg::Paste(" by\tthe manager".into()));
    assert!(error_text(&state).contains("control characters"));
    assert!(!state.quit);
    let effects = press(&mut state, "\r");
    assert_eq!(
        effects,
        vec![Effect::SetAsideRefused {
            sale_key: refused.sale.sale_key,
            reason: "price wrong, refunded bythe manager".into(),
        }]
    );
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Refused);
    update(
        &mut state,
        Msg::RefusedSaleHandled {
            sale_key: refused.sale.sale_key,
            action: RefusedAction::SetAside,
            result: Ok(()),
            status: status(0, vec![]),
        },
    );
    assert!(info_text(&state).contains("set aside"));
    assert!(state.refused_sales.is_empty());
    assert_eq!(state.refused_selected(), None, "nothing left to deal with");
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Sale);

    // Esc gives up typing and keeps the list; a reason is capped.
    let refused = refused_sale(&[97]);
    update(&mut state, Msg::Journal(status(0, vec![refused])));
    press(&mut state, "Ra");
    press(&mut state, &"x".repeat(200));
    assert!(error_text(&state).contains("at most 120 characters"));
    assert_eq!(state.set_aside().unwrap().reason.len(), 120);
    update(&mut state, key(KeyCode::Esc));
    assert_eq!(state.set_aside(), None);
    assert_eq!(state.mode(), pos_tui::keymap::Mode::Refused);
}

#[test]
fn a_round_stopped_by_a_transient_error_keeps_the_sales_says_why_and_backs_off() {
    let mut state = selling();
    update(&mut state, Msg::Journal(status(2, vec![])));
    let mut at = noon() + Duration::seconds(3);
    let timeout = CheckoutError::Refused("canceling statement due to lock timeout".into());
    let mut waits = Vec::new();
    for _ in 0..6 {
        assert!(update(&mut state, Msg::Tick(at)).contains(&Effect::Drain));
        update(
            &mut state,
            Msg::Drained {
                result: Ok(DrainReport {
                    still_pending: 2,
                    stopped: Some(timeout.clone()),
                    ..DrainReport::default()
                }),
                status: status(2, vec![]),
            },
        );
        assert!(error_text(&state).contains("lock timeout"));
        assert!(error_text(&state).contains("kept"));
        assert!(state.refused_sales.is_empty());
        let wait = Duration::from_std(state.next_drain().unwrap() - at.since_start).unwrap();
        waits.push(wait.num_seconds());
        // Nothing before the wait is over.
        assert!(
            !update(&mut state, Msg::Tick(at + (wait - Duration::seconds(1))))
                .contains(&Effect::Drain)
        );
        at = at + wait;
    }
    assert_eq!(waits, [6, 12, 24, 30, 30, 30]);
    // The database answers again: back to the short wait.
    update(&mut state, Msg::Tick(at));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 2,
                ..DrainReport::default()
            }),
            status: status(0, vec![]),
        },
    );
    assert_eq!(state.drain_failures, 0);
    assert_eq!(state.next_drain().unwrap() - at.since_start, DRAIN_EVERY);

    // A connection problem is the status bar's to say, not an error message.
    let mut state = selling();
    update(&mut state, Msg::Journal(status(1, vec![])));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(3)));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                still_pending: 1,
                stopped: Some(CheckoutError::Unavailable("connection refused".into())),
                ..DrainReport::default()
            }),
            status: status(1, vec![]),
        },
    );
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    assert!(!matches!(state.message(), Some(Message::Error(_))));
}

#[test]
fn a_repaired_journal_is_said_at_start_and_kept_on_the_status_bar() {
    let mut state = selling();
    let warning = "journal damaged: unreadable line 3 moved to /x/till.jsonl.quarantine; \
                   every other sale is kept";
    update(
        &mut state,
        Msg::Journal(pos_tui::app::JournalStatus {
            pending: 1,
            refused: vec![],
            warning: Some(warning.into()),
        }),
    );
    assert_eq!(error_text(&state), warning);
    press(&mut state, "n");
    assert!(!matches!(state.message(), Some(Message::Error(_))));
    // Said once, not at every journal update; R says it again.
    update(
        &mut state,
        Msg::Journal(pos_tui::app::JournalStatus {
            pending: 0,
            refused: vec![],
            warning: Some(warning.into()),
        }),
    );
    assert!(!matches!(state.message(), Some(Message::Error(_))));
    press(&mut state, "R");
    assert_eq!(error_text(&state), warning);
    assert_eq!(state.journal_warning.as_deref(), Some(warning));
}

// ---- messages do not outlive their truth ----

fn unreachable() -> Msg {
    Msg::Health(Err(offline()))
}

#[test]
fn queued_sales_sent_is_said_only_while_the_database_answers() {
    let mut state = selling();
    update(&mut state, Msg::Journal(status(2, vec![])));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(3)));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 2,
                ..DrainReport::default()
            }),
            status: status(0, vec![]),
        },
    );
    assert!(info_text(&state).contains("2 queued sale(s) sent"));
    // A tick later it still holds.
    update(&mut state, Msg::Tick(noon() + Duration::seconds(30)));
    assert!(info_text(&state).contains("2 queued sale(s) sent"));
    // Under RECONNECTING it would mislead: gone.
    update(&mut state, unreachable());
    assert_eq!(state.message(), None);
}

#[test]
fn news_of_what_the_cashier_did_stays_when_the_link_drops() {
    let mut state = selling();
    press(&mut state, "1\r");
    update(&mut state, unreachable());
    assert!(info_text(&state).contains("added milk"));
}

#[test]
fn refused_sales_are_announced_while_some_are_kept() {
    let mut state = selling();
    let refused = refused_sale(&[3, 99]);
    update(&mut state, Msg::Journal(status(1, vec![])));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(3)));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                refused: 1,
                ..DrainReport::default()
            }),
            status: status(0, vec![refused.clone()]),
        },
    );
    assert!(error_text(&state).contains("R lists them"));
    // Dealt with elsewhere (the journal says none is kept): the announcement goes.
    update(&mut state, Msg::Journal(status(0, vec![])));
    assert_eq!(state.message(), None);
}

#[test]
fn a_stopped_round_is_said_while_sales_wait_and_a_saved_offline_sale_until_it_is_sent() {
    let mut state = selling();
    update(&mut state, Msg::Journal(status(1, vec![])));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(3)));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                still_pending: 1,
                stopped: Some(CheckoutError::Refused("lock timeout".into())),
                ..DrainReport::default()
            }),
            status: status(1, vec![]),
        },
    );
    assert!(error_text(&state).contains("not sent yet"));
    update(&mut state, Msg::Journal(status(0, vec![])));
    assert_eq!(state.message(), None);

    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Queued(sale)),
        },
    );
    assert!(info_text(&state).contains("will be sent when the database is back"));
    update(&mut state, Msg::Journal(status(1, vec![])));
    assert!(info_text(&state).contains("will be sent"));
    // Sent by a round: "will be sent" is no longer true.
    update(&mut state, Msg::Journal(status(0, vec![])));
    assert_eq!(state.message(), None);
}

#[test]
fn catalog_messages_go_once_the_catalog_is_there() {
    let mut state = till("db", None);
    press(&mut state, "\r");
    assert!(error_text(&state).contains("not loaded yet"));
    update(&mut state, Msg::Tick(noon()));
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(state.message(), None);

    let mut state = selling();
    update(&mut state, Msg::Tick(noon() + Duration::seconds(60)));
    update(
        &mut state,
        Msg::CatalogLoaded(Err(DbFailure {
            message: "permission denied for table product".into(),
            connection: false,
        })),
    );
    assert!(error_text(&state).contains("loading the catalog failed"));
    update(&mut state, Msg::Tick(noon() + Duration::seconds(62)));
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    assert_eq!(state.message(), None);
}

#[test]
fn a_customer_count_is_said_only_while_the_database_answers() {
    let mut state = selling();
    press(&mut state, "c0");
    update(&mut state, Msg::CustomerSearchDue { seq: 1 });
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 1,
            result: Ok(vec![]),
        },
    );
    assert!(info_text(&state).contains("no customer id starts with 0"));
    update(&mut state, unreachable());
    assert_eq!(state.message(), None);
}

#[test]
fn the_help_scrolls_as_far_as_its_last_line_and_no_further() {
    let mut state = selling();
    update(
        &mut state,
        Msg::Resize {
            width: 40,
            height: 12,
        },
    );
    press(&mut state, "?");
    for _ in 0..100 {
        update(&mut state, key(KeyCode::Down));
    }
    let max = pos_tui::view::help_max_scroll(&state, (40, 12));
    assert!(max > 0);
    assert_eq!(state.overlay, Some(Overlay::Help { scroll: max }));
    // The first press up moves it at once.
    update(&mut state, key(KeyCode::Up));
    assert_eq!(state.overlay, Some(Overlay::Help { scroll: max - 1 }));
    // A larger terminal: the help fits, and the scroll follows.
    update(
        &mut state,
        Msg::Resize {
            width: 200,
            height: 60,
        },
    );
    assert_eq!(state.overlay, Some(Overlay::Help { scroll: 0 }));
    update(&mut state, key(KeyCode::Down));
    assert_eq!(state.overlay, Some(Overlay::Help { scroll: 0 }));
}

#[test]
fn the_screen_is_redrawn_only_when_something_drawn_changed() {
    let mut state = selling();
    assert!(state.take_dirty(), "the first screen is drawn");
    assert!(!state.take_dirty(), "once");

    // A key released (terminals that report releases) changes nothing: no redraw.
    let mut release = KeyEvent::new(KeyCode::Char('4'), KeyModifiers::NONE);
    release.kind = crossterm::event::KeyEventKind::Release;
    update(&mut state, Msg::Key(release));
    assert!(!state.take_dirty());

    press(&mut state, "4");
    assert!(state.take_dirty(), "the code being typed is drawn");
    assert!(!state.take_dirty(), "once");
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(cart(&state), vec![4]);
    assert!(state.take_dirty(), "the cart is drawn");
}

// ---- cashiers, till and receipt numbers ----

fn sign_in(state: &State) -> &SignIn {
    match &state.screen {
        Screen::SignIn(sign_in) => sign_in,
        other => panic!("expected the sign-in, got {other:?}"),
    }
}

#[test]
fn an_empty_roster_means_no_sign_in_and_sales_carry_the_till_and_no_cashier() {
    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.till.as_deref(), Some("T01"));
    assert_eq!(sale.cashier, None);
    // The journal numbers the sale, not the till.
    assert_eq!(sale.receipt_no, None);
    let mut state = selling();
    press(&mut state, "L");
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert!(info_text(&state).contains("records no cashier"));
}

#[test]
fn with_cashiers_the_branch_choice_leads_to_the_sign_in_and_a_cashier_without_pin_signs_in() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    assert_eq!(sign_in(&state), &SignIn::Number(String::new()));
    assert_eq!(state.mode(), Mode::SignIn);
    assert!(info_text(&state).contains("cashier number"));
    press(&mut state, "7\r");
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert_eq!(state.cashier.as_ref().map(|c| c.number), Some(7));
    assert!(info_text(&state).contains("7 Bo Chen signed in"));
    press(&mut state, "n1\r");
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!((sale.till.as_deref(), sale.cashier), (Some("T01"), Some(7)));
}

#[test]
fn an_unknown_cashier_number_is_said_and_typed_again() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "\r");
    assert!(error_text(&state).contains("type your cashier number"));
    press(&mut state, "42\r");
    assert!(error_text(&state).contains("no cashier number 42"));
    assert_eq!(sign_in(&state), &SignIn::Number(String::new()));
    assert_eq!(state.cashier, None);
    // Backspace and Esc edit the number; b goes back to the branches.
    press(&mut state, "12\x08");
    assert_eq!(sign_in(&state), &SignIn::Number("1".into()));
    press(&mut state, "\x1b");
    assert_eq!(sign_in(&state), &SignIn::Number(String::new()));
    press(&mut state, "b");
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    press(&mut state, "2");
    assert!(state.screen.is_sign_in());
}

#[test]
fn a_pin_is_typed_masked_checked_in_an_effect_and_a_wrong_one_typed_again() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "3\r");
    assert_eq!(state.mode(), Mode::Pin);
    assert!(info_text(&state).contains("3 Ann Lee: type your PIN"));
    // Every printable key is part of the PIN, q and ? included; nothing typed is printed.
    press(&mut state, "1q?9");
    assert!(!state.quit);
    assert!(!format!("{state:?}").contains("1q?9"), "{state:?}");
    let effects = press(&mut state, "\r");
    let [
        Effect::CheckPin {
            attempt,
            credential,
            pin,
        },
    ] = effects.as_slice()
    else {
        panic!("expected a PIN check, got {effects:?}");
    };
    assert_eq!(*attempt, 1);
    assert_eq!(credential.cashier.number, 3);
    assert_eq!(pin.expose(), "1q?9");
    assert_eq!(state.mode(), Mode::CheckingPin);
    // Keys wait while it is checked.
    assert_eq!(press(&mut state, "5\r"), vec![]);
    update(
        &mut state,
        Msg::PinChecked {
            attempt: 1,
            result: Ok(false),
        },
    );
    assert!(error_text(&state).contains("wrong PIN for cashier 3 Ann Lee"));
    assert_eq!(state.mode(), Mode::Pin);
    assert_eq!(state.cashier, None);
    press(&mut state, "\r");
    assert!(error_text(&state).contains("type your PIN"));
    press(&mut state, "1234\r");
    // A late answer to the first check changes nothing.
    update(
        &mut state,
        Msg::PinChecked {
            attempt: 1,
            result: Ok(true),
        },
    );
    assert_eq!(state.mode(), Mode::CheckingPin);
    update(
        &mut state,
        Msg::PinChecked {
            attempt: 2,
            result: Ok(true),
        },
    );
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    assert_eq!(state.cashier.as_ref().map(|c| c.number), Some(3));
}

#[test]
fn esc_on_the_pin_goes_back_to_the_number_and_a_failed_check_is_typed_again() {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "3\r12\x1b");
    assert_eq!(sign_in(&state), &SignIn::Number(String::new()));
    press(&mut state, "3\r12\r");
    update(
        &mut state,
        Msg::PinChecked {
            attempt: 1,
            result: Err("the check panicked".into()),
        },
    );
    assert!(error_text(&state).contains("could not be checked"));
    assert_eq!(state.mode(), Mode::Pin);
}

#[test]
fn l_signs_out_at_once_on_an_empty_sale_and_on_the_receipt_and_asks_with_a_sale_open() {
    let mut state = selling_as_cashier();
    press(&mut state, "L");
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
    assert_eq!(state.cashier, None);
    assert!(info_text(&state).contains("cashier 7 Bo Chen signed out"));

    let mut state = selling_as_cashier();
    press(&mut state, "n2\r");
    press(&mut state, "L");
    assert_eq!(
        state.input(),
        Some(&Input::Confirm(Question::SignOutWithSale))
    );
    press(&mut state, "n");
    assert_eq!(cart(&state), vec![2]);
    assert!(state.cashier.is_some());
    press(&mut state, "Ly");
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
    assert_eq!(state.cashier, None);
    // The next cashier starts a new sale: the dropped one is gone.
    press(&mut state, "7\r");
    assert!(state.draft().unwrap().lines().is_empty());

    let mut state = selling_as_cashier();
    press(&mut state, "n1\r");
    let sale = submitted_sale(press(&mut state, "s"));
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt_for(&sale))),
        },
    );
    press(&mut state, "L");
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
}

#[test]
fn the_roster_is_kept_when_it_changes_and_receipt_numbers_are_aligned_once() {
    let mut state = loaded();
    let loaded = |roster, last_receipt_no| Msg::RosterLoaded {
        roster,
        last_receipt_no,
    };
    assert_eq!(
        update(&mut state, loaded(roster(), 41)),
        vec![
            Effect::SaveRoster(roster()),
            Effect::AlignReceiptNumbers {
                last_in_database: 41
            }
        ]
    );
    assert_eq!(update(&mut state, loaded(roster(), 42)), vec![]);
    let mut fewer = roster();
    fewer.pop();
    assert_eq!(
        update(&mut state, loaded(fewer.clone(), 42)),
        vec![Effect::SaveRoster(fewer)]
    );
    // A failed alignment is tried again at the next load.
    update(
        &mut state,
        Msg::ReceiptNumbersAligned(Err("disk full".into())),
    );
    assert!(error_text(&state).contains("receipt numbers"));
    assert_eq!(
        update(&mut state, loaded(roster(), 42)),
        vec![
            Effect::SaveRoster(roster()),
            Effect::AlignReceiptNumbers {
                last_in_database: 42
            }
        ]
    );
    // The roster kept by an earlier run is not written back.
    let mut state = till("db", None);
    assert_eq!(update(&mut state, Msg::StoredRoster(roster())), vec![]);
    assert_eq!(state.roster, roster());
}

#[test]
fn a_till_started_offline_signs_in_from_the_kept_roster() {
    let mut state = till("db", None);
    update(&mut state, Msg::StoredRoster(roster()));
    update(&mut state, Msg::Tick(noon()));
    // The catalog arrives (the roster load did not say otherwise): cashiers sign in.
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    press(&mut state, "1");
    press(&mut state, "7\r");
    assert_eq!(state.cashier.as_ref().map(|c| c.number), Some(7));
}

#[test]
fn a_roster_that_appears_or_empties_moves_an_idle_till_to_or_from_the_sign_in() {
    let mut state = selling();
    update(
        &mut state,
        Msg::RosterLoaded {
            roster: roster(),
            last_receipt_no: 0,
        },
    );
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
    update(
        &mut state,
        Msg::RosterLoaded {
            roster: vec![],
            last_receipt_no: 0,
        },
    );
    assert!(state.screen.is_sale(), "{:?}", state.screen);
    // A sale under way is left to finish (it records no cashier); the next one asks.
    press(&mut state, "n1\r");
    update(
        &mut state,
        Msg::RosterLoaded {
            roster: roster(),
            last_receipt_no: 0,
        },
    );
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.cashier, None);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt_for(&sale))),
        },
    );
    press(&mut state, " ");
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
    // A cashier taken off the roster is asked to sign in at the next sale.
    let mut state = selling_as_cashier();
    let mut without_7 = roster();
    without_7.retain(|c| c.cashier.number != 7);
    update(
        &mut state,
        Msg::RosterLoaded {
            roster: without_7,
            last_receipt_no: 0,
        },
    );
    press(&mut state, "n1\r");
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.cashier, Some(7));
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt_for(&sale))),
        },
    );
    press(&mut state, " ");
    assert!(state.screen.is_sign_in(), "{:?}", state.screen);
    assert_eq!(state.cashier, None);
}

// ---- the catalog changing under the cart ----

#[test]
fn a_price_changed_under_the_cart_is_marked_and_the_first_submit_asks_for_the_new_total() {
    let mut state = ready_to_submit();
    let mut dearer = catalog();
    dearer.products[0].unit_price = price(200);
    update(&mut state, Msg::CatalogChanged);
    update(&mut state, Msg::CatalogLoaded(Ok(dearer)));
    let draft = state.draft().unwrap().clone();
    assert_eq!(
        state.line_status(&draft, 1),
        LineStatus::PriceChanged {
            was: price(150),
            now: price(200)
        }
    );
    assert_eq!(state.line_status(&draft, 2), LineStatus::OnSale);
    assert_eq!(state.total(), price(700));
    assert_eq!(press(&mut state, "s"), vec![]);
    assert_eq!(state.input(), Some(&Input::Confirm(Question::NewPrices)));
    assert!(info_text(&state).contains("milk 1.50 -> 2.00"));
    // No: nothing is sent, the marks stay, and the next s asks again.
    assert_eq!(press(&mut state, "n"), vec![]);
    assert!(!state.price_changes().is_empty());
    press(&mut state, "s");
    let sale = submitted_sale(press(&mut state, "y"));
    assert_eq!(sale.expected_total, Some(price(700)));
    assert!(state.price_changes().is_empty());
}

#[test]
fn a_retired_line_names_the_product_and_how_to_remove_it() {
    let mut state = ready_to_submit();
    let mut smaller = catalog();
    smaller.products.retain(|p| p.id != 2);
    update(&mut state, Msg::CatalogLoaded(Ok(smaller)));
    let draft = state.draft().unwrap().clone();
    assert_eq!(state.line_status(&draft, 2), LineStatus::Retired);
    // Its name is the one it was added with; it counts nothing in the total.
    assert_eq!(state.line_name(&draft, 2).as_deref(), Some("bread"));
    assert_eq!(state.total(), price(450));
    assert_eq!(press(&mut state, "s"), vec![]);
    let text = error_text(&state);
    assert!(
        text.contains("bread") && text.contains("line 2") && text.contains("x"),
        "{text}"
    );
}

#[test]
fn with_no_branch_in_the_database_the_till_says_how_to_add_one() {
    let mut state = till("db", None);
    update(&mut state, Msg::Tick(noon()));
    let mut empty = catalog();
    empty.branches.clear();
    update(&mut state, Msg::CatalogLoaded(Ok(empty)));
    press(&mut state, "\r");
    assert!(
        error_text(&state).contains("store-core branch add ID --name NAME"),
        "{:?}",
        state.message()
    );
    assert!(state.screen.is_branch_choice());
}

#[test]
fn a_retired_product_refused_by_the_database_is_explained_and_the_catalog_reloaded() {
    let mut state = ready_to_submit();
    let sale = submitted_sale(press(&mut state, "s"));
    let effects = update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Err(CheckoutError::RetiredProduct("bread (id 2)".into())),
        },
    );
    assert_eq!(effects, vec![Effect::LoadCatalog]);
    let text = error_text(&state);
    assert!(
        text.contains("bread (id 2) is no longer sold") && text.contains("Not charged"),
        "{text}"
    );
    // The reloaded catalog leaves it out: the line is marked and blocks the submit.
    let mut smaller = catalog();
    smaller.products.retain(|p| p.id != 2);
    update(&mut state, Msg::CatalogLoaded(Ok(smaller)));
    let draft = state.draft().unwrap().clone();
    assert_eq!(state.line_status(&draft, 2), LineStatus::Retired);
    assert_eq!(press(&mut state, "s"), vec![]);
}

// ---- the catalog kept beside the journal ----

/// The catalog an earlier run kept at 11:02 on the test day.
fn kept_catalog() -> KeptCatalog {
    KeptCatalog {
        kept_at: Utc.with_ymd_and_hms(2025, 3, 14, 11, 2, 0).unwrap(),
        catalog: catalog(),
    }
}

#[test]
fn a_till_started_offline_sells_from_the_kept_catalog_and_queues_the_sale() {
    let mut state = till("db", None);
    assert_eq!(
        update(&mut state, Msg::StoredCatalog(kept_catalog())),
        vec![]
    );
    assert_eq!(state.catalog, Some(catalog()));
    assert_eq!(state.catalog_kept_at, Some(kept_catalog().kept_at));
    // The database does not answer: the kept catalog stays, and the cashier sells from it.
    assert_eq!(
        update(&mut state, Msg::Tick(noon())),
        vec![Effect::LoadCatalog]
    );
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Err(offline()))),
        vec![]
    );
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    assert_eq!(state.catalog, Some(catalog()));
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    press(&mut state, "2");
    assert_eq!(state.branch.as_deref(), Some("SMKT002"));
    assert_eq!(state.branch_name(), Some("Old Town"));
    press(&mut state, "n1\r3\r");
    assert_eq!(cart(&state), [1, 3]);
    assert_eq!(state.total(), price(450));
    let sale = submitted_sale(press(&mut state, "s"));
    assert_eq!(sale.supermarket_id, "SMKT002");
    assert_eq!(sale.product_ids, [1, 3]);
    let mut saved = sale.clone();
    saved.sold_at = Some(Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 1).unwrap());
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Queued(saved.clone())),
        },
    );
    let Screen::Queued(queued) = &state.screen else {
        panic!("expected the queued receipt, got {:?}", state.screen);
    };
    assert_eq!(queued.sale, saved);
    assert_eq!(queued.total, price(450));
    assert_eq!(state.pending_sales, 1);
    assert_eq!(state.catalog_kept_at, Some(kept_catalog().kept_at));

    // The database answers: its catalog replaces the kept one (and is kept in turn), and the
    // queued sale is sent.
    let mut live = catalog();
    live.products[0].unit_price = price(175);
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Ok(live.clone()))),
        vec![Effect::SaveCatalog(Box::new(live.clone())), Effect::Drain]
    );
    assert_eq!(state.catalog, Some(live));
    assert_eq!(state.catalog_kept_at, None);
    assert_eq!(state.db, DbState::Connected);
}

#[test]
fn the_kept_catalog_starts_the_shift_at_the_branch_asked_for_if_it_has_it() {
    let mut state = till("db", Some("SMKT003"));
    update(&mut state, Msg::StoredCatalog(kept_catalog()));
    assert_eq!(state.branch.as_deref(), Some("SMKT003"));
    assert!(state.screen.is_sale(), "{:?}", state.screen);

    // A branch the kept catalog does not have waits for the live catalog.
    let mut state = till("db", Some("SMKT009"));
    update(&mut state, Msg::StoredCatalog(kept_catalog()));
    assert_eq!(state.branch, None);
    assert!(state.screen.is_branch_choice(), "{:?}", state.screen);
    update(&mut state, Msg::Tick(noon()));
    let mut live = catalog();
    live.branches[2].id = "SMKT009".into();
    update(&mut state, Msg::CatalogLoaded(Ok(live)));
    assert_eq!(state.branch.as_deref(), Some("SMKT009"));
}

#[test]
fn a_kept_catalog_never_replaces_a_loaded_one_and_a_failed_keep_is_said() {
    let mut state = loaded();
    let mut older = catalog();
    older.products.truncate(2);
    update(
        &mut state,
        Msg::StoredCatalog(KeptCatalog {
            catalog: older,
            ..kept_catalog()
        }),
    );
    assert_eq!(state.catalog, Some(catalog()));
    assert_eq!(state.catalog_kept_at, None);

    update(&mut state, Msg::CatalogSaved(Err("disk full".into())));
    assert!(error_text(&state).contains("could not be kept beside the journal (disk full)"));
}
