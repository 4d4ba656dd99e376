//! The screens of a cashier's day beyond the sale at 80x24, compared with the snapshots in
//! tests/snapshots: paying and the change due, and (with the database's answers) voids, refunds
//! and shift reports.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use pos_tui::app::{Effect, Msg, State, update};
use pos_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rust_decimal::Decimal;
use store_core::domain::checkout::{PaymentMethod, Receipt, ReceiptLine, Sale};
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
