//! Shared fixtures for the state-machine and screen tests.
#![allow(dead_code)]

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pos_tui::app::{Clock, Effect, Ids, Msg, State, update};
use rust_decimal::Decimal;
use store_core::domain::cashier::{Cashier, CashierCredential};
use store_core::domain::catalog::{Branch, Catalog, Product};
use store_core::domain::time_zone::Tz;

/// The till's clocks at start, at noon (add a `chrono::Duration` to let time pass).
pub fn noon() -> Clock {
    Clock::at_start(
        NaiveDate::from_ymd_opt(2025, 3, 14)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap(),
    )
}

pub fn price(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

pub fn catalog() -> Catalog {
    let products = [
        (1, "milk", 150),
        (2, "bread", 200),
        (3, "eggs", 300),
        (4, "chicken", 650),
        (5, "apples", 80),
        (6, "toilet paper", 400),
        (7, "cereal", 350),
        (8, "cheese", 500),
        (9, "yogurt", 120),
        (10, "orange juice", 280),
    ];
    Catalog {
        branches: ["SMKT001", "SMKT002", "SMKT003"]
            .iter()
            .zip(["Harbour Road", "Old Town", "Station Square"])
            .map(|(id, name)| Branch {
                id: id.to_string(),
                name: name.to_string(),
                timezone: None,
            })
            .collect(),
        products: products
            .iter()
            .map(|(id, name, cents)| Product {
                id: *id,
                name: name.to_string(),
                unit_price: price(*cents),
            })
            .collect(),
    }
}

/// A till at noon, with counted ids (`00000000-0000-4000-8000-00000000000n` for customers,
/// `...-7000-...` for sale keys) and times shown in UTC.
pub fn till(db_name: &str, wanted_branch: Option<&str>) -> State {
    State::new(
        noon(),
        db_name.into(),
        wanted_branch.map(Into::into),
        Ids::counting(),
        Tz::UTC,
        "T01".into(),
    )
}

/// A till that has loaded the catalog and shows the branch choice.
pub fn loaded() -> State {
    let mut state = till("test database", None);
    assert_eq!(
        update(&mut state, Msg::Tick(noon())),
        vec![Effect::LoadCatalog]
    );
    // The catalog is kept beside the journal (for a start while the database is away).
    assert_eq!(
        update(&mut state, Msg::CatalogLoaded(Ok(catalog()))),
        vec![Effect::SaveCatalog(Box::new(catalog()))]
    );
    state
}

/// The chain's cashiers: 3 Ann Lee with PIN 1234, 7 Bo Chen without a PIN.
pub fn roster() -> Vec<CashierCredential> {
    vec![
        credential(3, "Ann Lee", Some("1234")),
        credential(7, "Bo Chen", None),
    ]
}

/// A roster entry as the database hands it over. The PIN's hash here is not a real one: these
/// tests answer the PIN check themselves (it runs in an effect).
pub fn credential(number: i32, name: &str, pin: Option<&str>) -> CashierCredential {
    serde_json::from_value(serde_json::json!({
        "cashier": Cashier { number, name: name.into() },
        "pin_hash": pin.map(|pin| format!("not-a-hash-of-{pin}")),
    }))
    .unwrap()
}

/// A till of a chain with cashiers (`roster`) that has loaded the catalog: the branch choice.
pub fn loaded_with_cashiers() -> State {
    let mut state = till("test database", None);
    update(&mut state, Msg::Tick(noon()));
    update(
        &mut state,
        Msg::RosterLoaded {
            roster: roster(),
            last_receipt_no: 0,
        },
    );
    update(&mut state, Msg::CatalogLoaded(Ok(catalog())));
    state
}

/// Cashier 7 (no PIN) signed in at SMKT001, an empty sale open.
pub fn selling_as_cashier() -> State {
    let mut state = loaded_with_cashiers();
    press(&mut state, "1");
    press(&mut state, "7\r");
    state
}

/// A till at branch SMKT001 with an empty sale open.
pub fn selling() -> State {
    let mut state = loaded();
    press(&mut state, "1");
    state
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Types `keys` (`\r` is Enter), collecting every effect.
pub fn press(state: &mut State, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\r' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\x08' => KeyCode::Backspace,
            c => KeyCode::Char(c),
        };
        effects.extend(update(state, key(code)));
    }
    effects
}

pub fn cart(state: &State) -> Vec<i32> {
    state.draft().unwrap().products.clone()
}
