//! The screens of a cashier's day beyond the sale at 80x24, compared with the snapshots in
//! tests/snapshots: paying and the change due, and (with the database's answers) voids, refunds
//! and shift reports.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use pos_tui::app::{Effect, Msg, Screen, State, UndoStep, update};
use pos_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rust_decimal::Decimal;
use store_core::domain::checkout::{PaymentMethod, Receipt, ReceiptLine, Sale};
use store_core::domain::refund::{RefundRecord, SoldPurchase, VoidRecord};
use store_core::domain::shift::ShiftReport;
use store_core::till::journal::Outcome;

fn render(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    terminal.backend().to_string()
}

fn snapshot(name: &str, state: &State) {
    let screen = render(state, 80, 24);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

/// Milk, chicken, cheese and orange juice (15.80) for a new customer.
fn with_cart() -> State {
    let mut state = selling();
    press(&mut state, "n1\r4\r8\r10\r");
    state
}

fn receipt_of(sale: &Sale) -> Receipt {
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
        new_customer: true,
        created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
        total_amount: total,
        lines,
        replayed: false,
        till: sale.till.clone(),
        cashier: sale.cashier,
        receipt_no: Some(12),
        payment_method: payment.map(|p| p.method),
        tendered: cash,
        change_due: cash.map(|c| c - total),
    }
}

#[test]
fn payment() {
    let mut state = with_cart();
    press(&mut state, "s");
    snapshot("payment", &state);
}

#[test]
fn payment_with_change() {
    let mut state = with_cart();
    press(&mut state, "s20");
    snapshot("payment_with_change", &state);
}

#[test]
fn payment_short_of_the_total() {
    let mut state = with_cart();
    press(&mut state, "s10\r");
    snapshot("payment_short_of_the_total", &state);
}

#[test]
fn receipt_with_change() {
    let mut state = with_cart();
    let effects = press(&mut state, "s50\r");
    let [Effect::Submit(sale)] = effects.as_slice() else {
        panic!("expected a submit, got {effects:?}");
    };
    let receipt = receipt_of(sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt)),
        },
    );
    snapshot("receipt_with_change", &state);
}

/// Cashier 7 signed in, manager 9; a sale of milk, chicken, cheese and orange juice recorded as
/// T01-000012 (paid 20.00 cash) and its receipt on screen.
fn after_a_sale() -> (State, Receipt) {
    let mut state = loaded_with_cashiers();
    let mut roster = roster();
    roster.push(
        serde_json::from_value(serde_json::json!({
            "cashier": { "number": 9, "name": "Mo Diaz" },
            "pin_hash": "not-a-hash",
            "is_manager": true,
        }))
        .unwrap(),
    );
    update(
        &mut state,
        Msg::RosterLoaded {
            roster,
            last_receipt_no: 0,
        },
    );
    press(&mut state, "1");
    press(&mut state, "7\r");
    press(&mut state, "n1\r4\r8\r10\r");
    let effects = press(&mut state, "s20\r");
    let [Effect::Submit(sale)] = effects.as_slice() else {
        panic!("expected a submit, got {effects:?}");
    };
    let receipt = receipt_of(sale);
    update(
        &mut state,
        Msg::Submitted {
            sale_key: sale.sale_key,
            result: Ok(Outcome::Recorded(receipt.clone())),
        },
    );
    (state, receipt)
}

#[test]
fn void_waiting_for_the_manager() {
    let (mut state, _) = after_a_sale();
    press(&mut state, "Vcustomer changed their mind\r9\r12");
    snapshot("void_manager_pin", &state);
}

#[test]
fn refund_choosing_lines() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, " rT01-000012\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(Some(SoldPurchase {
                receipt,
                voided: None,
                refunded_product_ids: vec![8],
                refunds: vec![],
            })),
        },
    );
    press(&mut state, " ");
    update(&mut state, common::key(crossterm::event::KeyCode::Down));
    update(&mut state, common::key(crossterm::event::KeyCode::Down));
    press(&mut state, " ");
    snapshot("refund_lines", &state);
}

#[test]
fn refund_receipt_number() {
    let (mut state, _) = after_a_sale();
    press(&mut state, " rT01-0000");
    snapshot("refund_receipt_number", &state);
}

#[test]
fn refund_slip() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, " rT01-000012\r");
    update(
        &mut state,
        Msg::ReceiptFound {
            seq: 1,
            result: Ok(Some(SoldPurchase {
                receipt: receipt.clone(),
                voided: None,
                refunded_product_ids: vec![],
                refunds: vec![],
            })),
        },
    );
    press(&mut state, " \rsour milk\r9\r1234\r");
    let Screen::Undo(flow) = &state.screen else {
        panic!("{:?}", state.screen);
    };
    let (key, UndoStep::Sending { .. }) = (flow.key, &flow.step) else {
        panic!("{:?}", flow.step);
    };
    update(
        &mut state,
        Msg::Refunded {
            key,
            result: Ok(RefundRecord {
                refund_id: 4,
                purchase_id: receipt.purchase_id,
                refunded_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 9, 0).unwrap(),
                till: "T01".into(),
                cashier: Some(7),
                manager: 9,
                reason: "sour milk".into(),
                amount: receipt.lines[0].unit_price,
                lines: vec![receipt.lines[0].clone()],
                payment_method: Some(PaymentMethod::Cash),
                replayed: false,
            }),
        },
    );
    snapshot("refund_slip", &state);
}

#[test]
fn void_slip() {
    let (mut state, receipt) = after_a_sale();
    press(&mut state, "Vrang up twice\r9\r1234\r");
    let Screen::Undo(flow) = &state.screen else {
        panic!("{:?}", state.screen);
    };
    let (key, UndoStep::Sending { .. }) = (flow.key, &flow.step) else {
        panic!("{:?}", flow.step);
    };
    update(
        &mut state,
        Msg::Voided {
            key,
            result: Ok(VoidRecord {
                purchase_id: receipt.purchase_id,
                voided_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 5, 0).unwrap(),
                till: "T01".into(),
                cashier: Some(7),
                manager: 9,
                reason: "rang up twice".into(),
                amount: receipt.total_amount,
                replayed: false,
            }),
        },
    );
    snapshot("void_slip", &state);
}

fn a_report() -> ShiftReport {
    let opened = Utc.with_ymd_and_hms(2025, 3, 14, 8, 0, 0).unwrap();
    let mut report = ShiftReport::empty("T01", opened);
    report.shift_id = 2;
    report.sales = 12;
    report.revenue = Decimal::new(14520, 2);
    report.by_method = vec![
        (Some(PaymentMethod::Cash), 8, Decimal::new(10000, 2)),
        (Some(PaymentMethod::Card), 4, Decimal::new(4520, 2)),
    ];
    report.cash_expected = Decimal::new(9280, 2);
    report.voids = 1;
    report.voided = Decimal::new(600, 2);
    report.refunds = 1;
    report.refunded = Decimal::new(120, 2);
    report.net = Decimal::new(13800, 2);
    report.first_receipt_no = Some(1);
    report.last_receipt_no = Some(13);
    report.first_sale_at = Some(opened + chrono::Duration::minutes(3));
    report.last_sale_at = Some(opened + chrono::Duration::minutes(238));
    report
}

#[test]
fn x_report() {
    let (mut state, _) = after_a_sale();
    press(&mut state, " X");
    update(&mut state, Msg::ShiftLoaded(Ok(a_report())));
    snapshot("x_report", &state);
}

#[test]
fn z_report() {
    let (mut state, _) = after_a_sale();
    press(&mut state, " Z");
    snapshot("close_shift_question", &state);
    press(&mut state, "y");
    let mut report = a_report();
    report.closed_at = Some(Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 0).unwrap());
    report.closed_by = Some(7);
    update(&mut state, Msg::ShiftClosed(Ok(report)));
    snapshot("z_report", &state);
}
