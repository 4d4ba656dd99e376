//! Keys are mapped to named actions first. The one table below drives both the handling of
//! keys and what the help overlay and the hint line say, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    CloseOverlay,
    Refresh,
    Freeze,
    CycleBranch,
    CyclePeriod,
    MoreMinPurchases,
    LessMinPurchases,
    Export,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
}

pub struct Binding {
    /// The keys that trigger the action (modifiers other than Shift must match exactly).
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in the help overlay.
    pub keys_label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// The short form for the hint line at the bottom of the screen, if it has one.
    pub hint: Option<(&'static str, &'static str)>,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        keys_label: "q, Ctrl-C",
        action: Action::Quit,
        help: "quit",
        hint: Some(("q", "quit")),
    },
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::F(1), NONE)],
        keys_label: "?, F1",
        action: Action::Help,
        help: "show or hide this help",
        hint: Some(("?", "help")),
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        keys_label: "Esc",
        action: Action::CloseOverlay,
        help: "close the help",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        keys_label: "r",
        action: Action::Refresh,
        help: "refresh now",
        hint: Some(("r", "refresh")),
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE)],
        keys_label: "f",
        action: Action::Freeze,
        help: "freeze / unfreeze the figures",
        hint: Some(("f", "freeze")),
    },
    Binding {
        keys: &[(KeyCode::Char('b'), NONE)],
        keys_label: "b",
        action: Action::CycleBranch,
        help: "branch: all, then each branch",
        hint: Some(("b", "branch")),
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE)],
        keys_label: "p",
        action: Action::CyclePeriod,
        help: "period: all time, today, 7 days, 30 days",
        hint: Some(("p", "period")),
    },
    Binding {
        keys: &[(KeyCode::Char('+'), NONE), (KeyCode::Char('='), NONE)],
        keys_label: "+",
        action: Action::MoreMinPurchases,
        help: "loyal buyers: one more purchase needed",
        hint: Some(("+/-", "min")),
    },
    Binding {
        keys: &[(KeyCode::Char('-'), NONE), (KeyCode::Char('_'), NONE)],
        keys_label: "-",
        action: Action::LessMinPurchases,
        help: "loyal buyers: one purchase fewer (at least 1)",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        keys_label: "e",
        action: Action::Export,
        help: "export loyal buyers and top products to CSV",
        hint: Some(("e", "export")),
    },
    Binding {
        keys: &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        keys_label: "Up, k",
        action: Action::ScrollUp,
        help: "scroll the loyal buyers up",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        keys_label: "Down, j",
        action: Action::ScrollDown,
        help: "scroll the loyal buyers down",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        keys_label: "PgUp",
        action: Action::PageUp,
        help: "loyal buyers: previous page",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        keys_label: "PgDn, Space",
        action: Action::PageDown,
        help: "loyal buyers: next page",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        keys_label: "Home, g",
        action: Action::Top,
        help: "loyal buyers: first",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::End, NONE), (KeyCode::Char('G'), NONE)],
        keys_label: "End, G",
        action: Action::Bottom,
        help: "loyal buyers: last",
        hint: None,
    },
];

/// The action for a key press, if any. Releases are ignored; Shift is ignored for characters
/// (so `+`, `?` and `G` work whatever the keyboard layout needs to type them).
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let mut mods = key.modifiers;
    if matches!(key.code, KeyCode::Char(_)) {
        mods.remove(KeyModifiers::SHIFT);
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|(c, m)| *c == key.code && *m == mods))
        .map(|b| b.action)
}

/// The hint line's entries, in table order.
pub fn hints() -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS.iter().filter_map(|b| b.hint)
}

/// The key table in Markdown, as README.md and docs/owner-tui.md show it (a test checks that
/// they do): one row per binding, its keys in code spans.
pub fn markdown_table() -> String {
    let rows: Vec<(String, &str)> = BINDINGS
        .iter()
        .map(|b| {
            let keys: Vec<String> = b.keys_label.split(", ").map(|k| format!("`{k}`")).collect();
            (keys.join(", "), b.help)
        })
        .collect();
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    let help_w = rows
        .iter()
        .map(|(_, h)| h.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "| {:<key_w$} | {:<help_w$} |\n|{}|{}|\n",
        "Key",
        "What it does",
        "-".repeat(key_w + 2),
        "-".repeat(help_w + 2)
    );
    for (keys, help) in rows {
        out.push_str(&format!("| {keys:<key_w$} | {help:<help_w$} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README.md and docs/owner-tui.md show the key table generated from `BINDINGS`.
    #[test]
    fn the_documented_key_tables_are_the_key_map() {
        let table = markdown_table();
        for doc in ["../README.md", "../docs/owner-tui.md"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains(&table),
                "{} does not show the key map's table; it should be:\n{table}",
                path.display()
            );
        }
    }

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(
            action_for(&key(KeyCode::Char('q'), NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('c'), CTRL)),
            Some(Action::Quit)
        );
        assert_eq!(action_for(&key(KeyCode::Char('c'), NONE)), None);
        assert_eq!(
            action_for(&key(KeyCode::Char('+'), KeyModifiers::SHIFT)),
            Some(Action::MoreMinPurchases)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help)
        );
        assert_eq!(action_for(&key(KeyCode::Char('r'), CTRL)), None);
    }

    #[test]
    fn every_key_is_bound_once() {
        let mut seen = Vec::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }
}
