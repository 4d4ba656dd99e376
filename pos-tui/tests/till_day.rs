//! A cashier's day beyond the sale, flow by flow through `update`: paying (cash and change,
//! card), customer cards, the customer search's Enter, printed receipts, voids and refunds with
//! a manager's confirmation, the shift reports.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use crossterm::event::KeyCode;
use pos_tui::app::{
    DbFailure, DbState, Effect, Input, Message, Msg, PrintSetup, Question, Screen, State, Tender,
    Undo, UndoKind, update,
};
use pos_tui::keymap::Mode;
use rust_decimal::Decimal;
use store_core::domain::catalog::CustomerSummary;
use store_core::domain::checkout::{CustomerChoice, PaymentMethod, Receipt, ReceiptLine, Sale};
use store_core::domain::refund::{
    ManagerPin, RefundError, RefundRecord, RefundRequest, SoldPurchase, VoidRecord, VoidRequest,
};
use store_core::domain::shift::ShiftReport;
use store_core::till::journal::Outcome;
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

/// A sale at SMKT001 for a new customer with milk, bread and eggs (6.50).
fn ready_to_pay() -> State {
    let mut state = selling();
    press(&mut state, "n1\r2\r3\r");
    state
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
    let total: Decimal = lines.iter().map(|l| l.unit_price).sum();
    let payment = sale.payment.clone();
    let cash = payment
        .as_ref()
        .filter(|p| p.method == PaymentMethod::Cash)
        .map(|p| p.tendered.unwrap_or(total));
    Receipt {
        purchase_id: 3001,
        sale_key: sale.sale_key,
        supermarket_id: sale.supermarket_id.clone(),
        user_id: sale.customer.user_id(),
        new_customer: sale.customer.is_new(),
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: total,
        lines,
        replayed: false,
        till: sale.till.clone(),
        cashier: sale.cashier,
        receipt_no: Some(1),
        payment_method: payment.map(|p| p.method),
        tendered: cash,
        change_due: cash.map(|c| c - total),
    }
}

fn tendered(state: &State) -> String {
    match state.input() {
        Some(Input::Payment { tendered }) => tendered.clone(),
        other => panic!("expected the payment screen, got {other:?}"),
    }
}

// ---- payment ----

#[test]
fn s_opens_the_payment_and_enter_alone_is_the_exact_cash() {
    let mut state = ready_to_pay();
    assert_eq!(press(&mut state, "s"), vec![]);
    assert_eq!(state.mode(), Mode::Payment);
    assert!(info_text(&state).contains("6.50"), "{:?}", state.message());
    let sale = submitted_sale(press(&mut state, "\r"));
    assert_eq!(sale.expected_total, Some(price(650)));
    assert_eq!(state.last_tender, Some(Tender::Cash(None)));
    assert!(state.is_submitting());
}

#[test]
fn cash_tendered_is_typed_checked_against_the_total_and_less_is_refused() {
    let mut state = ready_to_pay();
    press(&mut state, "s");
    // Less than the total: refused on screen, nothing sent, the amount kept to correct.
    assert_eq!(press(&mut state, "5\r"), vec![]);
    let text = error_text(&state);
    assert!(text.contains("5.00 is less than the total 6.50"), "{text}");
    assert_eq!(tendered(&state), "5");
    // Cents with a comma or a point, at most two decimals, one point.
    press(&mut state, "\x08");
    press(&mut state, "10,5");
    assert_eq!(tendered(&state), "10.5");
    press(&mut state, ".");
    assert!(error_text(&state).contains("decimal point"));
    press(&mut state, "05");
    assert_eq!(tendered(&state), "10.50");
    assert!(error_text(&state).contains("two decimals"));
    let sale = submitted_sale(press(&mut state, "\r"));
    assert_eq!(state.last_tender, Some(Tender::Cash(Some(price(1050)))));
    // The receipt shows the change: 10.50 - 6.50.
    let receipt = receipt_for(&sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt)),
        },
    );
    assert_eq!(state.change_due(), Some(price(400)));
}

#[test]
fn k_pays_by_card_and_esc_goes_back_to_the_sale_with_its_key() {
    let mut state = ready_to_pay();
    let key = state.draft().unwrap().sale_key;
    press(&mut state, "s12");
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::Sale);
    assert_eq!(cart(&state), vec![1, 2, 3]);
    assert!(info_text(&state).contains("still open"));
    // Backspace, letters and the like do nothing harmful; k is card whatever was typed.
    press(&mut state, "s7");
    let sale = submitted_sale(press(&mut state, "k"));
    assert_eq!(sale.sale_key, key);
    assert_eq!(state.last_tender, Some(Tender::Card));
    assert_eq!(state.change_due(), None);
}

#[test]
fn payment_refuses_what_is_not_an_amount_and_too_much() {
    let mut state = ready_to_pay();
    press(&mut state, "s");
    press(&mut state, "q");
    assert_eq!(
        state.mode(),
        Mode::Payment,
        "q does not quit from the payment"
    );
    assert_eq!(tendered(&state), "");
    press(&mut state, "99999999999999");
    assert!(
        error_text(&state).contains("at most"),
        "{:?}",
        state.message()
    );
    assert!(tendered(&state).len() <= 13);
    // A pasted amount is typed like keys.
    let mut state = ready_to_pay();
    press(&mut state, "s");
    update(&mut state, Msg::Paste(" 20.00 ".into()));
    assert_eq!(tendered(&state), "20.00");
    update(&mut state, Msg::Paste("twenty".into()));
    assert!(error_text(&state).contains("digits"));
    assert_eq!(tendered(&state), "20.00");
}

#[test]
fn the_checks_of_s_still_come_before_the_payment() {
    let mut state = selling();
    press(&mut state, "1\r");
    assert_eq!(press(&mut state, "s"), vec![]);
    assert!(error_text(&state).contains("choose the customer first"));
    assert_eq!(state.mode(), Mode::Sale);
}

// ---- customer cards ----

const CARD: &str = "0195a3c4-7b1e-4c9a-9f0e-2d6b8a1c3e5f";

fn card() -> Uuid {
    Uuid::parse_str(CARD).unwrap()
}

fn summary(id: Uuid, purchases: i32) -> CustomerSummary {
    CustomerSummary {
        user_id: id,
        purchases,
        last_purchase_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap(),
    }
}

#[test]
fn a_card_typed_into_the_code_field_looks_up_a_returning_customer() {
    let mut state = selling();
    press(&mut state, "1\r");
    // The first digits are a code; the first letter or dash makes it a card.
    press(&mut state, &CARD[..8]);
    assert_eq!(state.mode(), Mode::Code);
    let effects = press(&mut state, &format!("{}\r", &CARD[8..]));
    assert_eq!(effects, vec![Effect::LookUpCard(card())]);
    assert_eq!(state.draft().unwrap().card_check, Some(card()));
    assert!(info_text(&state).contains("checking customer card"));
    update(
        &mut state,
        Msg::CardLookedUp {
            id: card(),
            result: Ok(Some(summary(card(), 4))),
        },
    );
    let draft = state.draft().unwrap();
    assert_eq!(draft.customer, Some(CustomerChoice::Returning(card())));
    assert_eq!(draft.card_check, None);
    assert!(info_text(&state).contains("4 earlier purchases"));
    // Confirmed by the database: the sale goes through.
    assert!(state.vouched.contains(&card()));
    press(&mut state, "s");
    submitted_sale(press(&mut state, "\r"));
}

#[test]
fn an_unknown_card_is_refused_or_taken_as_a_new_customer_when_the_cashier_says_so() {
    let mut state = selling();
    press(&mut state, &format!("{CARD}\r"));
    update(
        &mut state,
        Msg::CardLookedUp {
            id: card(),
            result: Ok(None),
        },
    );
    assert_eq!(
        state.input(),
        Some(&Input::Confirm(Question::NewCard(card())))
    );
    assert!(error_text(&state).contains("is not known"));
    press(&mut state, "n");
    assert!(error_text(&state).contains("refused"));
    assert_eq!(state.draft().unwrap().customer, None);
    // Again, and yes: a new customer with the card's id.
    press(&mut state, &format!("{CARD}\r"));
    update(
        &mut state,
        Msg::CardLookedUp {
            id: card(),
            result: Ok(None),
        },
    );
    press(&mut state, "y");
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::New(card()))
    );
}

#[test]
fn product_codes_keep_working_and_a_malformed_card_is_explained() {
    let mut state = selling();
    press(&mut state, "4\r");
    assert_eq!(cart(&state), vec![4]);
    // Ten digits is still too long for a product code.
    press(&mut state, "1234567890");
    assert!(error_text(&state).contains("at most 9 digits"));
    press(&mut state, "\x1b");
    assert_eq!(press(&mut state, "12ab\r"), vec![]);
    let text = error_text(&state);
    assert!(
        text.contains("12ab is neither a product code") && text.contains("nor a customer card"),
        "{text}"
    );
    assert_eq!(state.input(), Some(&Input::Code(String::new())));
    // With nothing typed, the sale's keys are the sale's: - removes the last line, c searches.
    press(&mut state, "-");
    assert!(cart(&state).is_empty());
    press(&mut state, "c");
    assert_eq!(state.mode(), Mode::CustomerSearch);
}

#[test]
fn a_pasted_card_is_taken_at_once_and_offline_only_a_seen_customer_is() {
    let mut state = selling();
    assert_eq!(
        update(&mut state, Msg::Paste(format!(" {CARD}\n"))),
        vec![Effect::LookUpCard(card())]
    );
    // A late answer for another card changes nothing.
    let other = Uuid::from_u128(5);
    update(
        &mut state,
        Msg::CardLookedUp {
            id: other,
            result: Ok(Some(summary(other, 1))),
        },
    );
    assert_eq!(state.draft().unwrap().customer, None);
    // The database went away meanwhile.
    update(
        &mut state,
        Msg::CardLookedUp {
            id: card(),
            result: Err(DbFailure {
                message: "connection refused".into(),
                connection: true,
            }),
        },
    );
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    assert!(error_text(&state).contains("could not be checked"));
    // Offline, an unseen card is not taken...
    assert_eq!(press(&mut state, &format!("{CARD}\r")), vec![]);
    assert!(error_text(&state).contains("offline"));
    // ...and one the database confirmed earlier is, without asking it.
    state.vouched.insert(card());
    assert_eq!(press(&mut state, &format!("{CARD}\r")), vec![]);
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::Returning(card()))
    );
}

// ---- the customer search's Enter ----

#[test]
fn enter_before_the_results_waits_for_them_and_takes_a_single_match() {
    let mut state = selling();
    press(&mut state, "c0195");
    // Enter before the debounce: the search starts now, and its answer is awaited.
    let effects = press(&mut state, "\r");
    assert_eq!(
        effects,
        vec![Effect::SearchCustomers {
            seq: 4,
            prefix: "0195".into()
        }]
    );
    assert!(info_text(&state).contains("waiting"));
    assert_eq!(state.mode(), Mode::CustomerSearch);
    // The debounce's own timer then runs no second search.
    assert_eq!(
        update(&mut state, Msg::CustomerSearchDue { seq: 4 }),
        vec![]
    );
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 4,
            result: Ok(vec![summary(card(), 2)]),
        },
    );
    assert_eq!(
        state.draft().unwrap().customer,
        Some(CustomerChoice::Returning(card()))
    );
    assert_eq!(state.mode(), Mode::Sale);
}

#[test]
fn enter_while_searching_with_several_matches_lets_the_cashier_choose() {
    let mut state = selling();
    press(&mut state, "c01");
    update(&mut state, Msg::CustomerSearchDue { seq: 2 });
    // The search runs: Enter waits for it.
    assert_eq!(press(&mut state, "\r"), vec![]);
    let two = vec![
        summary(
            Uuid::parse_str("01000000-0000-4000-8000-000000000001").unwrap(),
            1,
        ),
        summary(
            Uuid::parse_str("01ffffff-0000-4000-8000-000000000002").unwrap(),
            3,
        ),
    ];
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Ok(two),
        },
    );
    assert_eq!(state.mode(), Mode::CustomerSearch);
    assert!(error_text(&state).contains("2 customers start with 01: choose one"));
    assert_eq!(state.draft().unwrap().customer, None);
    // The results are there now: Enter takes the selected one at once.
    update(&mut state, key(KeyCode::Down));
    assert_eq!(press(&mut state, "\r"), vec![]);
    assert_eq!(
        state.draft().unwrap().customer.unwrap().user_id(),
        Uuid::parse_str("01ffffff-0000-4000-8000-000000000002").unwrap()
    );
}

#[test]
fn enter_on_a_search_that_found_nothing_says_so_and_keeps_searching() {
    let mut state = selling();
    press(&mut state, "cfe");
    press(&mut state, "\r");
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Ok(vec![]),
        },
    );
    assert!(error_text(&state).contains("no customer id starts with fe"));
    assert_eq!(state.mode(), Mode::CustomerSearch);
    // Typing on makes the waiting Enter void: a later answer is only shown.
    let mut state = selling();
    press(&mut state, "c01\r2");
    update(
        &mut state,
        Msg::CustomerResults {
            seq: 2,
            result: Ok(vec![summary(card(), 1)]),
        },
    );
    assert_eq!(state.draft().unwrap().customer, None);
}

// ---- printed receipts ----

fn with_printer(mut state: State) -> State {
    state.print_setup = PrintSetup {
        printer: true,
        width: 42,
    };
    state
}

fn recorded(state: &mut State, keys: &str) -> (Receipt, Vec<Effect>) {
    let sale = submitted_sale(press(state, keys));
    let receipt = receipt_for(&sale);
    let effects = update(
        state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt.clone())),
        },
    );
    (receipt, effects)
}

#[test]
fn a_recorded_sale_is_printed_and_p_prints_it_again() {
    let mut state = with_printer(ready_to_pay());
    let (_, effects) = recorded(&mut state, "s\r");
    let [Effect::Print { job: 1, text }] = effects.as_slice() else {
        panic!("expected one print, got {effects:?}");
    };
    assert!(text.contains("Harbour Road"), "{text}");
    assert!(text.contains("T01-000001"), "{text}");
    assert!(text.contains("TOTAL") && text.contains("6.50"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 42), "{text}");
    let first = text.clone();
    // p on the receipt: the same text again, as job 2; the receipt stays on screen.
    let effects = press(&mut state, "p");
    assert_eq!(
        effects,
        vec![Effect::Print {
            job: 2,
            text: first.clone()
        }]
    );
    assert!(matches!(state.screen, Screen::Receipt(_)));
    // And from the next sale.
    press(&mut state, " ");
    assert_eq!(
        press(&mut state, "p"),
        vec![Effect::Print {
            job: 3,
            text: first
        }]
    );
}

#[test]
fn a_failing_printer_is_said_and_never_blocks_the_next_sale() {
    let mut state = with_printer(ready_to_pay());
    recorded(&mut state, "s\r");
    update(
        &mut state,
        Msg::Printed {
            job: 1,
            result: Err("lp: printer receipt is out of paper".into()),
        },
    );
    let text = error_text(&state);
    assert!(
        text.contains("out of paper")
            && text.contains("receipt T01-000001")
            && text.contains("p prints it again"),
        "{text}"
    );
    assert_eq!(state.sales_done, 1);
    press(&mut state, "4");
    assert!(state.screen.is_sale());
    assert_eq!(state.input(), Some(&Input::Code("4".into())));
}

#[test]
fn without_a_printer_nothing_is_printed_and_p_says_how_to_set_one() {
    let mut state = ready_to_pay();
    let (_, effects) = recorded(&mut state, "s\r");
    assert_eq!(effects, vec![]);
    assert_eq!(press(&mut state, "p"), vec![]);
    assert!(error_text(&state).contains("--receipt-command"));
    // Before any sale there is nothing to print.
    let mut state = with_printer(selling());
    assert_eq!(press(&mut state, "p"), vec![]);
    assert!(info_text(&state).contains("no receipt to print"));
}

#[test]
fn a_sale_saved_offline_is_printed_with_its_receipt_number() {
    let mut state = with_printer(ready_to_pay());
    let mut sale = submitted_sale(press(&mut state, "sk"));
    sale.receipt_no = Some(7);
    let effects = update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Queued(sale)),
        },
    );
    let [Effect::Print { text, .. }] = effects.as_slice() else {
        panic!("expected one print, got {effects:?}");
    };
    assert!(text.contains("T01-000007"), "{text}");
    assert!(text.contains("2025-03-14 12:00:00"), "{text}");
}

// ---- voids and refunds ----

/// Cashier 7 (no PIN) signed in, 9 Mo Diaz a manager with PIN 4321, a sale recorded (receipt
/// T01-000001, purchase 3001: milk, bread, eggs, 6.50 in cash) and its receipt on screen.
fn after_a_sale() -> (State, Receipt) {
    let mut state = loaded_with_cashiers();
    let mut roster = roster();
    roster.push(manager(9, "Mo Diaz", "4321"));
    update(
        &mut state,
        Msg::RosterLoaded {
            roster,
            last_receipt_no: 0,
        },
    );
    press(&mut state, "1");
    press(&mut state, "7\r");
    press(&mut state, "n1\r2\r3\r");
    let sale = submitted_sale(press(&mut state, "s10\r"));
    let receipt = receipt_for(&sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt.clone())),
        },
    );
    (state, receipt)
}

fn manager(number: i32, name: &str, pin: &str) -> store_core::domain::cashier::CashierCredential {
    serde_json::from_value(serde_json::json!({
        "cashier": { "number": number, "name": name },
        "pin_hash": format!("not-a-hash-of-{pin}"),
        "is_manager": true,
    }))
    .unwrap()
}

fn undo(state: &State) -> &Undo {
    match &state.screen {
        Screen::Undo(undo) => undo,
        other => panic!("expected a void or refund, got {other:?}"),
    }
}

/// Types the reason and manager 9's number and PIN: the void or refund goes with the PIN, for
/// the database to check (the till checks no manager's PIN itself).
fn confirm(state: &mut State, reason: &str) -> Vec<Effect> {
    press(state, &format!("{reason}\r"));
    assert_eq!(state.mode(), Mode::ManagerNumber);
    press(state, "9\r");
    assert_eq!(state.mode(), Mode::ManagerPin);
    let effects = press(state, "4321\r");
    assert_eq!(state.mode(), Mode::UndoWorking);
    effects
}

fn void_record(receipt: &Receipt, replayed: bool) -> VoidRecord {
    VoidRecord {
        purchase_id: receipt.purchase_id,
        voided_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 5, 0).unwrap(),
        till: "T01".into(),
        cashier: Some(7),
        manager: 9,
        reason: "rang up twice".into(),
        amount: receipt.total_amount,
        replayed,
    }
}

#[test]
fn v_voids_the_last_sale_once_a_manager_confirms_and_prints_its_slip() {
    let (state, receipt) = after_a_sale();
    let mut state = with_printer(state);
    // From the receipt: V starts the void of that sale, at its reason.
    press(&mut state, "V");
    assert_eq!(state.mode(), Mode::UndoReason);
    let flow = undo(&state);
    assert_eq!(flow.kind, UndoKind::Void);
    assert_eq!(flow.amount(), price(650));
    assert!(info_text(&state).contains("void T01-000001 (6.50)"));
    let key = flow.key;
    // An empty reason is refused.
    press(&mut state, "\r");
    assert!(error_text(&state).contains("type why"));
    let effects = confirm(&mut state, "rang up twice");
    assert_eq!(
        effects,
        vec![Effect::Void(Box::new(VoidRequest {
            void_key: key,
            purchase_id: 3001,
            till: "T01".into(),
            cashier: Some(7),
            manager: 9,
            manager_pin: ManagerPin::new("4321"),
            reason: "rang up twice".into(),
        }))]
    );
    let effects = update(
        &mut state,
        Msg::Voided {
            key,
            result: Ok(void_record(&receipt, false)),
        },
    );
    let [Effect::Print { text, .. }] = effects.as_slice() else {
        panic!("expected the slip printed, got {effects:?}");
    };
    assert!(
        text.contains("*** VOID ***") && text.contains("T01-000001"),
        "{text}"
    );
    assert!(matches!(state.screen, Screen::UndoDone(_)));
    assert!(info_text(&state).contains("voided: 6.50 to give back"));
    // The sale is voided: nothing is left to void.
    press(&mut state, " ");
    press(&mut state, "V");
    assert!(error_text(&state).contains("no sale of this shift to void"));
}

#[test]
fn a_wrong_manager_pin_or_a_cashier_who_is_not_a_manager_is_refused() {
    let (mut state, _) = after_a_sale();
    press(&mut state, " V");
    press(&mut state, "mistake\r");
    // Cashier 7 is no manager; 42 is nobody.
    press(&mut state, "7\r");
    assert!(error_text(&state).contains("not a manager"));
    press(&mut state, "42\r");
    assert!(error_text(&state).contains("no cashier number 42"));
    assert_eq!(state.mode(), Mode::ManagerNumber);
    let effects = press(&mut state, "9\r1111\r");
    let [Effect::Void(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.manager_pin.expose(), "1111");
    assert!(
        !format!("{effects:?}").contains("1111"),
        "a PIN in a Debug print"
    );
    let key = request.void_key;
    // The database says the PIN is wrong: typed again.
    update(
        &mut state,
        Msg::Voided {
            key,
            result: Err(RefundError::WrongPin(9)),
        },
    );
    assert!(error_text(&state).contains("wrong PIN for manager 9 Mo Diaz"));
    assert_eq!(state.mode(), Mode::ManagerPin);
    // Too many wrong PINs: another manager may confirm.
    press(&mut state, "2222\r");
    update(
        &mut state,
        Msg::Voided {
            key,
            result: Err(RefundError::TooManyWrongPins(9)),
        },
    );
    assert!(error_text(&state).contains("too many wrong PINs for manager 9"));
    assert_eq!(state.mode(), Mode::ManagerNumber);
    // Esc leaves it: nothing changed, back to an empty sale.
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::Sale);
    assert!(info_text(&state).contains("void cancelled"));
}

#[test]
fn a_void_that_finds_the_database_away_keeps_its_key_and_is_confirmed_again() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, "V");
    let key = undo(&state).key;
    confirm(&mut state, "mistake");
    // While it is written, quitting waits.
    update(
        &mut state,
        Msg::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('c'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    assert!(!state.quit);
    assert!(error_text(&state).contains("being written"));
    update(
        &mut state,
        Msg::Voided {
            key,
            result: Err(RefundError::Unavailable("connection refused".into())),
        },
    );
    assert!(matches!(state.db, DbState::Reconnecting(_)));
    assert_eq!(state.mode(), Mode::ManagerNumber);
    // No answer: it may have been written.
    assert!(error_text(&state).contains("may have been recorded"));
    assert!(error_text(&state).contains("same key"));
    // Esc does not pretend nothing changed: it warns and keeps the void (and its key).
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::ManagerNumber);
    assert!(error_text(&state).contains("may have been recorded"));
    assert!(!error_text(&state).contains("nothing was changed"));
    assert_eq!(undo(&state).key, key);
    // Back: confirmed again, the same key goes (a replay cannot void twice).
    update(&mut state, Msg::Health(Ok(())));
    let effects = press(&mut state, "9\r4321\r");
    let [Effect::Void(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(request.void_key, key);
    // A refusal (here: refunded already) goes back to the sale and says why.
    update(
        &mut state,
        Msg::Voided {
            key,
            result: Err(RefundError::HasRefunds),
        },
    );
    assert_eq!(state.mode(), Mode::Sale);
    assert!(error_text(&state).contains("has refunds"));
    let _ = receipt;
}

#[test]
fn a_refund_left_after_a_timeout_says_it_may_have_been_recorded() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, " rT01-000001\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(Some(SoldPurchase {
                receipt,
                voided: None,
                refunded_product_ids: vec![],
                refunds: vec![],
            })),
        },
    );
    press(&mut state, " \r");
    let key = undo(&state).key;
    confirm(&mut state, "sour milk");
    update(
        &mut state,
        Msg::Refunded {
            key,
            result: Err(RefundError::Unavailable("no answer in 10 s".into())),
        },
    );
    // Esc twice leaves it, saying it may have been recorded (never "nothing was changed").
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::ManagerNumber);
    press(&mut state, "\x1b");
    assert_eq!(state.mode(), Mode::Sale);
    assert!(error_text(&state).contains("refund left: it may have been recorded"));
    assert!(!error_text(&state).contains("nothing was changed"));
}

#[test]
fn voids_and_refunds_need_the_database_an_empty_sale_and_a_manager() {
    let (mut state, _) = after_a_sale();
    update(
        &mut state,
        Msg::Health(Err(DbFailure {
            message: "gone".into(),
            connection: true,
        })),
    );
    press(&mut state, " V");
    assert!(error_text(&state).contains("need the database"));
    press(&mut state, "r");
    assert!(error_text(&state).contains("need the database"));
    press(&mut state, "X");
    assert!(error_text(&state).contains("need the database"));
    update(&mut state, Msg::Health(Ok(())));
    press(&mut state, "n1\r");
    press(&mut state, "V");
    assert!(error_text(&state).contains("finish or clear this sale"));
    // A chain without a manager cannot confirm one.
    let mut state = selling();
    press(&mut state, "r");
    assert!(error_text(&state).contains("no cashier is a manager"));
}

fn sold(receipt: &Receipt, refunded: Vec<i32>) -> SoldPurchase {
    SoldPurchase {
        receipt: receipt.clone(),
        voided: None,
        refunded_product_ids: refunded,
        refunds: vec![],
    }
}

#[test]
fn r_refunds_chosen_lines_of_a_sale_found_by_its_receipt_number() {
    let (state, receipt) = after_a_sale();
    let mut state = with_printer(state);
    press(&mut state, " r");
    assert_eq!(state.mode(), Mode::RefundReceipt);
    // Not a receipt number: said, nothing looked up.
    assert_eq!(press(&mut state, "hello\r"), vec![]);
    assert!(error_text(&state).contains("not a receipt number"));
    for _ in 0..5 {
        press(&mut state, "\x08");
    }
    let effects = press(&mut state, "T01-000001\r");
    assert_eq!(
        effects,
        vec![Effect::FindReceipt {
            seq: 1,
            till: "T01".into(),
            receipt_no: 1
        }]
    );
    assert_eq!(state.mode(), Mode::UndoWorking);
    // Bread was refunded before: only milk and eggs are left.
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(Some(sold(&receipt, vec![2]))),
        },
    );
    assert_eq!(state.mode(), Mode::RefundLines);
    assert!(info_text(&state).contains("2 line(s) can be refunded"));
    // Enter with nothing chosen is refused; Space chooses the selected line (milk), ↓ eggs.
    press(&mut state, "\r");
    assert!(error_text(&state).contains("choose the lines"));
    press(&mut state, " ");
    update(&mut state, key(KeyCode::Down));
    press(&mut state, " ");
    assert_eq!(undo(&state).amount(), price(450));
    press(&mut state, " ");
    assert_eq!(undo(&state).amount(), price(150));
    // a: all that is left (milk and eggs), a again: none.
    press(&mut state, "a");
    assert_eq!(undo(&state).amount(), price(450));
    press(&mut state, "aa\r");
    let key = undo(&state).key;
    let effects = confirm(&mut state, "sour milk");
    let [Effect::Refund(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        **request,
        RefundRequest {
            refund_key: key,
            purchase_id: 3001,
            product_ids: vec![1, 3],
            till: "T01".into(),
            cashier: Some(7),
            manager: 9,
            manager_pin: ManagerPin::new("4321"),
            reason: "sour milk".into(),
        }
    );
    let record = RefundRecord {
        refund_id: 4,
        purchase_id: 3001,
        refunded_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 9, 0).unwrap(),
        till: "T01".into(),
        cashier: Some(7),
        manager: 9,
        reason: "sour milk".into(),
        amount: price(450),
        lines: receipt
            .lines
            .iter()
            .filter(|l| l.product_id != 2)
            .cloned()
            .collect(),
        payment_method: Some(PaymentMethod::Cash),
        replayed: false,
    };
    let effects = update(
        &mut state,
        Msg::Refunded {
            key,
            result: Ok(record),
        },
    );
    let [Effect::Print { text, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(
        text.contains("*** REFUND ***") && text.contains("4.50"),
        "{text}"
    );
    assert!(info_text(&state).contains("refund #4 of sale T01-000001: 4.50"));
    assert_eq!(state.mode(), Mode::Receipt);
}

#[test]
fn a_refund_of_a_voided_unknown_or_wholly_refunded_sale_is_refused_at_the_number() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, " r1\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(None),
        },
    );
    assert!(error_text(&state).contains("no sale with receipt number 1"));
    assert_eq!(state.mode(), Mode::RefundReceipt);
    press(&mut state, "\r");
    let mut voided = sold(&receipt, vec![]);
    voided.voided = Some(void_record(&receipt, false));
    // A late answer to the first look-up changes nothing.
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(Some(sold(&receipt, vec![]))),
        },
    );
    assert_eq!(state.mode(), Mode::UndoWorking);
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 2,
            result: Ok(Some(voided)),
        },
    );
    assert!(error_text(&state).contains("was voided"));
    press(&mut state, "\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 3,
            result: Ok(Some(sold(&receipt, vec![1, 2, 3]))),
        },
    );
    assert!(error_text(&state).contains("refunded already"));
    press(&mut state, "\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 4,
            result: Err(DbFailure {
                message: "gone".into(),
                connection: true,
            }),
        },
    );
    assert!(error_text(&state).contains("need the database"));
    assert_eq!(state.mode(), Mode::RefundReceipt);
}

// ---- shift reports ----

fn report(closed: bool) -> ShiftReport {
    let opened = Utc.with_ymd_and_hms(2025, 3, 14, 8, 0, 0).unwrap();
    let mut report = ShiftReport::empty("T01", opened);
    report.shift_id = 2;
    report.sales = 1;
    report.revenue = price(650);
    report.by_method = vec![(Some(PaymentMethod::Cash), 1, price(650))];
    report.cash_expected = price(650);
    report.net = price(650);
    report.first_receipt_no = Some(1);
    report.last_receipt_no = Some(1);
    if closed {
        report.closed_at = Some(opened + chrono::Duration::hours(4));
        report.closed_by = Some(7);
    }
    report
}

#[test]
fn x_shows_the_running_report_and_p_prints_it() {
    let (state, _) = after_a_sale();
    let mut state = with_printer(state);
    assert_eq!(press(&mut state, "X"), vec![Effect::LoadShift]);
    update(&mut state, Msg::ShiftLoaded(Ok(report(false))));
    assert_eq!(state.mode(), Mode::Report);
    let effects = press(&mut state, "p");
    let [Effect::Print { text, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("X REPORT") && text.contains("6.50"), "{text}");
    // Any other key closes it; the receipt is still there behind.
    press(&mut state, "q");
    assert_eq!(state.mode(), Mode::Receipt);
    assert!(!state.quit);
}

#[test]
fn z_asks_then_closes_the_shift_prints_the_z_report_and_forgets_the_last_sale() {
    let (state, _) = after_a_sale();
    let mut state = with_printer(state);
    press(&mut state, "Z");
    assert_eq!(state.input(), Some(&Input::Confirm(Question::CloseShift)));
    press(&mut state, "n");
    assert!(info_text(&state).contains("stays open"));
    press(&mut state, "Z");
    assert_eq!(
        press(&mut state, "y"),
        vec![Effect::CloseShift { cashier: Some(7) }]
    );
    let effects = update(&mut state, Msg::ShiftClosed(Ok(report(true))));
    let [Effect::Print { text, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("Z REPORT"), "{text}");
    assert_eq!(state.mode(), Mode::Report);
    assert!(info_text(&state).contains("shift closed"));
    press(&mut state, " ");
    // A new shift: the last sale is no longer this shift's.
    press(&mut state, "V");
    assert!(error_text(&state).contains("no sale of this shift"));
    // A failed close says so and the shift stays as it was.
    press(&mut state, "Zy");
    update(
        &mut state,
        Msg::ShiftClosed(Err(DbFailure {
            message: "permission denied".into(),
            connection: false,
        })),
    );
    assert!(error_text(&state).contains("the shift was not closed: permission denied"));
}
