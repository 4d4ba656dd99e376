//! Whatever the keyboard (or a paste) sends: long input, junk, control characters. Nothing
//! panics, nothing grows without bound, no query runs on text that is not an id prefix, and the
//! cashier is told what happened. Every state is also rendered at 80x24 (the random run's at
//! 40x12, 200x60 and 20x6 too).

mod common;

use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pos_tui::app::{
    CARD_LEN, Effect, Input, MAX_CODE_LEN, MAX_SEARCH_LEN, Message, Msg, State, parse_tendered,
    update,
};
use pos_tui::keymap::Mode;
use pos_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::domain::refund::RefundError;
use store_core::domain::shift::ShiftReport;
use store_core::error::CheckoutError;
use store_core::till::journal::Outcome;

fn render(state: &State) -> String {
    render_at(state, 80, 24)
}

fn render_at(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(state, frame)).unwrap();
    terminal.backend().to_string()
}

fn error_text(state: &State) -> String {
    match state.message() {
        Some(Message::Error(text)) => text.clone(),
        other => panic!("expected an error message, got {other:?}"),
    }
}

#[test]
fn a_product_code_is_at_most_nine_digits() {
    let mut state = selling();
    press(&mut state, &"7".repeat(20));
    assert_eq!(state.input(), Some(&Input::Code("7".repeat(MAX_CODE_LEN))));
    assert!(error_text(&state).contains("at most 9 digits"));
    press(&mut state, "\r");
    assert!(error_text(&state).contains("unknown product code 777777777"));
    assert!(render(&state).contains("unknown product code"));
}

#[test]
fn a_very_long_product_search_is_cut_with_a_message() {
    let mut state = selling();
    press(&mut state, "/");
    press(&mut state, &"ab€\u{1F600}".repeat(3000));
    let Some(Input::ProductSearch { query, .. }) = state.input() else {
        panic!("still searching");
    };
    assert_eq!(query.chars().count(), MAX_SEARCH_LEN);
    assert!(error_text(&state).contains("at most 64 characters"));
    let screen = render(&state);
    assert!(screen.contains("no product matches"), "{screen}");
    press(&mut state, "\r");
    assert!(error_text(&state).contains("no product name contains"));
}

#[test]
fn junk_in_the_customer_search_runs_no_query_and_says_why() {
    let mut state = selling();
    press(&mut state, "c");
    let junk = "'; DROP TABLE customer; --".repeat(500);
    let mut effects = press(&mut state, &junk);
    // The debounce timers fire; none of them may start a query on this text.
    let seqs: Vec<u64> = effects
        .iter()
        .map(|e| match e {
            Effect::DebounceCustomerSearch { seq } => *seq,
            other => panic!("unexpected effect {other:?}"),
        })
        .collect();
    assert!(!seqs.is_empty());
    for seq in seqs {
        effects.extend(update(&mut state, Msg::CustomerSearchDue { seq }));
    }
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::SearchCustomers { .. })),
        "{effects:?}"
    );
    let Some(Input::CustomerSearch { query, .. }) = state.input() else {
        panic!("still searching");
    };
    assert!(query.chars().count() <= MAX_SEARCH_LEN);
    // The last message says what is wrong with the text.
    let text = error_text(&state);
    assert!(
        text.contains("at most 64") || text.contains("hex"),
        "{text}"
    );
    render(&state);
}

#[test]
fn pasted_text_is_cleaned_capped_and_never_taken_as_keys() {
    let mut state = selling();
    press(&mut state, "n1\r");
    // Pasted into a sale, junk is refused: it must not submit ('s'), quit ('q') or clear.
    let junk = format!("sqX\u{1b}[31m\r\n\t\u{0}{}", "x".repeat(20_000));
    assert_eq!(update(&mut state, Msg::Paste(junk.clone())), vec![]);
    assert!(error_text(&state).contains("not a product code"));
    assert_eq!(cart(&state), vec![1]);
    assert!(!state.is_submitting() && !state.quit);
    // A pasted code is typed in.
    update(&mut state, Msg::Paste(" 42\n".into()));
    assert_eq!(state.input(), Some(&Input::Code("42".into())));
    update(&mut state, Msg::Paste("1234567890".into()));
    assert_eq!(state.input(), Some(&Input::Code("42".into())));
    assert!(error_text(&state).contains("at most 9"));
    press(&mut state, "\x1b");

    // In a search, control characters are dropped and the length capped.
    press(&mut state, "/");
    update(&mut state, Msg::Paste(junk));
    let Some(Input::ProductSearch { query, .. }) = state.input() else {
        panic!("still searching");
    };
    assert_eq!(query.chars().count(), MAX_SEARCH_LEN);
    assert!(!query.chars().any(char::is_control), "{query:?}");
    assert!(error_text(&state).contains("at most 64"));
    render(&state);
    press(&mut state, "\x1b");

    // A pasted customer id prefix is searched like a typed one.
    press(&mut state, "c");
    assert_eq!(
        update(&mut state, Msg::Paste("0A1b-\u{7}".into())),
        vec![Effect::DebounceCustomerSearch { seq: 1 }]
    );
    assert_eq!(
        update(&mut state, Msg::CustomerSearchDue { seq: 1 }),
        vec![Effect::SearchCustomers {
            seq: 1,
            prefix: "0A1b-".into()
        }]
    );
    render(&state);
}

/// A small deterministic generator, so that a failure is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn random_key(rng: &mut Lcg) -> KeyEvent {
    const CHARS: &[char] = &[
        '0',
        '1',
        '5',
        '9',
        'a',
        'f',
        'z',
        'n',
        'c',
        's',
        'x',
        'X',
        '-',
        '/',
        'q',
        'b',
        'y',
        'R',
        '?',
        ' ',
        '\'',
        ';',
        'é',
        '€',
        '\u{1F600}',
        '\u{0}',
        '\u{7}',
        '\u{1b}',
        '\u{7f}',
    ];
    let code = match rng.next() % 10 {
        0 => KeyCode::Enter,
        1 => KeyCode::Esc,
        2 => KeyCode::Backspace,
        3 => [KeyCode::Up, KeyCode::Down, KeyCode::Delete, KeyCode::Tab][rng.next() as usize % 4],
        4 => KeyCode::F((rng.next() % 14) as u8),
        _ => KeyCode::Char(CHARS[rng.next() as usize % CHARS.len()]),
    };
    let modifiers = match rng.next() % 20 {
        0 => KeyModifiers::ALT,
        1 => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    KeyEvent::new(code, modifiers)
}

#[test]
fn twenty_thousand_random_keys_and_pastes_never_break_the_till() {
    let mut rng = Lcg(0x1ca5);
    let mut state = selling();
    let mut later: Vec<Msg> = Vec::new();
    let mut seen: Vec<Mode> = Vec::new();
    for i in 0..20_000u32 {
        let msg = if rng.next().is_multiple_of(200) {
            let len = (rng.next() % 12_000) as usize;
            Msg::Paste(
                (0..len)
                    .map(|_| char::from_u32((rng.next() % 0x3000) as u32).unwrap_or('?'))
                    .collect(),
            )
        } else if rng.next().is_multiple_of(300) {
            let [width, height] = [rng.next() % 220, rng.next() % 70].map(|n| n as u16);
            Msg::Resize { width, height }
        } else if let Some(msg) = later.pop() {
            msg
        } else {
            Msg::Key(random_key(&mut rng))
        };
        for effect in update(&mut state, msg) {
            // Answer effects as the runner would, the database alternately up and down.
            match effect {
                Effect::DebounceCustomerSearch { seq } => {
                    later.push(Msg::CustomerSearchDue { seq })
                }
                Effect::SearchCustomers { seq, prefix } => {
                    assert!(
                        store_core::domain::catalog::uuid_prefix_range(&prefix).is_ok(),
                        "a query on {prefix:?}"
                    );
                    later.push(Msg::CustomerResults {
                        seq,
                        result: Ok(vec![]),
                    });
                }
                Effect::Submit(sale) => later.push(Msg::Submitted {
                    sale_key: sale.sale_key,
                    result: if i.is_multiple_of(2) {
                        Ok(Outcome::Queued(*sale))
                    } else {
                        Err(CheckoutError::Unavailable("down".into()))
                    },
                }),
                Effect::CheckPin { attempt, pin, .. } => later.push(Msg::PinChecked {
                    attempt,
                    result: Ok(pin.expose() == "1234"),
                }),
                Effect::LookUpCard(id) => later.push(Msg::CardLookedUp {
                    id,
                    result: Ok(None),
                }),
                Effect::Print { job, .. } => later.push(Msg::Printed {
                    job,
                    result: if i.is_multiple_of(2) {
                        Ok(())
                    } else {
                        Err("out of paper".into())
                    },
                }),
                Effect::FindReceipt { seq, .. } => later.push(Msg::ReceiptFound {
                    seq,
                    result: Ok(None),
                }),
                Effect::Void(request) => later.push(Msg::Voided {
                    key: request.void_key,
                    result: Err(RefundError::Unavailable("down".into())),
                }),
                Effect::Refund(request) => later.push(Msg::Refunded {
                    key: request.refund_key,
                    result: Err(RefundError::Unavailable("down".into())),
                }),
                Effect::LoadShift => later.push(Msg::ShiftLoaded(Ok(ShiftReport::empty(
                    "T01",
                    chrono::Utc::now(),
                )))),
                Effect::CloseShift { .. } => {
                    later.push(Msg::ShiftClosed(Err(pos_tui::app::DbFailure {
                        message: "down".into(),
                        connection: true,
                    })))
                }
                Effect::LoadCatalog
                | Effect::Drain
                | Effect::ResendRefused(_)
                | Effect::SetAsideRefused { .. }
                | Effect::SaveRoster(_)
                | Effect::SaveCatalog(_)
                | Effect::AlignReceiptNumbers { .. } => {}
            }
        }
        // Invariants after every message.
        match state.input() {
            Some(Input::Code(code)) if code.chars().all(|c| c.is_ascii_digit()) => {
                assert!(code.len() <= MAX_CODE_LEN, "{code:?}")
            }
            Some(Input::Code(card)) => {
                assert!(card.len() <= CARD_LEN, "{card:?}");
                assert!(
                    card.chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, 'a'..='f' | '-')),
                    "{card:?}"
                );
            }
            Some(Input::Payment { tendered }) => {
                assert!(parse_tendered(tendered).is_ok(), "{tendered:?}");
                assert!(
                    tendered
                        .split_once('.')
                        .is_none_or(|(_, cents)| cents.len() <= 2),
                    "{tendered:?}"
                );
            }
            Some(Input::ProductSearch { query, .. } | Input::CustomerSearch { query, .. }) => {
                assert!(query.chars().count() <= MAX_SEARCH_LEN);
                assert!(!query.chars().any(char::is_control), "{query:?}");
            }
            Some(Input::Confirm(_) | Input::Submitting) | None => {}
        }
        if let Some(draft) = state.draft() {
            let mut ids = draft.lines().to_vec();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(
                ids.len(),
                draft.lines().len(),
                "a product twice in the cart"
            );
        }
        if !seen.contains(&state.mode()) {
            seen.push(state.mode());
        }
        if state.quit {
            // Start again: quitting is a legitimate outcome of random keys.
            state = selling();
        }
        if i.is_multiple_of(500) {
            for (width, height) in [(80, 24), (40, 12), (200, 60), (20, 6)] {
                render_at(&state, width, height);
            }
        }
    }
    render(&state);
    // The run went through every place a cashier's keys can take the till.
    for mode in [
        Mode::Sale,
        Mode::ProductSearch,
        Mode::CustomerSearch,
        Mode::Confirm,
        Mode::Receipt,
        Mode::Help,
        Mode::Branch,
        Mode::Code,
        Mode::Payment,
    ] {
        assert!(seen.contains(&mode), "{mode:?} never reached: {seen:?}");
    }
}
