//! Keys are mapped to named actions first. One table per mode (the dashboard, the date range
//! being typed) drives both the handling of keys and what the help overlay, the hint line and
//! the range popup say, so they cannot disagree.

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
    NextView,
    PreviousView,
    /// Enter on the overview: the loyal buyer at the cursor, in detail.
    Open,
    /// Start typing a date range.
    TypeRange,
    /// A character typed into the date range (only digits and `-` are bound).
    Type(char),
    /// The other field of the date range.
    NextField,
    DeleteChar,
    /// Apply the date range typed.
    ApplyRange,
}

/// Which table the keys are looked up in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Dashboard,
    /// A date range is being typed.
    Range,
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
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

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
        help: "close the help; back from a customer",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE)],
        keys_label: "Tab",
        action: Action::NextView,
        help: "next view (overview, summary, products, …)",
        hint: Some(("Tab", "view")),
    },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)],
        keys_label: "Shift-Tab",
        action: Action::PreviousView,
        help: "previous view",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        keys_label: "Enter",
        action: Action::Open,
        help: "loyal buyers: the customer at the cursor",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        keys_label: "r",
        action: Action::Refresh,
        help: "refresh now",
        hint: None,
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
        help: "period: all time → today → … → this month",
        hint: Some(("p", "period")),
    },
    Binding {
        keys: &[(KeyCode::Char('d'), NONE)],
        keys_label: "d",
        action: Action::TypeRange,
        help: "period: type a date range (from, to)",
        hint: Some(("d", "dates")),
    },
    Binding {
        keys: &[(KeyCode::Char('+'), NONE), (KeyCode::Char('='), NONE)],
        keys_label: "+",
        action: Action::MoreMinPurchases,
        help: "loyal buyers: one more purchase needed",
        hint: None,
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
        help: "export the tables shown to CSV",
        hint: Some(("e", "export")),
    },
    Binding {
        keys: &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        keys_label: "Up, k",
        action: Action::ScrollUp,
        help: "scroll the loyal buyers (or the table) up",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        keys_label: "Down, j",
        action: Action::ScrollDown,
        help: "scroll the loyal buyers (or the table) down",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        keys_label: "PgUp",
        action: Action::PageUp,
        help: "loyal buyers (or the table): previous page",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)],
        keys_label: "PgDn, Space",
        action: Action::PageDown,
        help: "loyal buyers (or the table): next page",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        keys_label: "Home, g",
        action: Action::Top,
        help: "loyal buyers: first (or the table's)",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::End, NONE), (KeyCode::Char('G'), NONE)],
        keys_label: "End, G",
        action: Action::Bottom,
        help: "loyal buyers: last (or the table's)",
        hint: None,
    },
];

/// While a date range is typed: the popup lists these (its hints are their short forms).
pub const RANGE_BINDINGS: &[Binding] = &[
    Binding {
        keys: &[
            (KeyCode::Char('0'), NONE),
            (KeyCode::Char('1'), NONE),
            (KeyCode::Char('2'), NONE),
            (KeyCode::Char('3'), NONE),
            (KeyCode::Char('4'), NONE),
            (KeyCode::Char('5'), NONE),
            (KeyCode::Char('6'), NONE),
            (KeyCode::Char('7'), NONE),
            (KeyCode::Char('8'), NONE),
            (KeyCode::Char('9'), NONE),
            (KeyCode::Char('-'), NONE),
        ],
        keys_label: "0-9, -",
        // The character typed replaces this one (see `action_for`).
        action: Action::Type('0'),
        help: "type the date, YYYY-MM-DD",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Backspace, NONE)],
        keys_label: "Backspace",
        action: Action::DeleteChar,
        help: "delete the last character",
        hint: Some(("Bksp", "delete")),
    },
    Binding {
        keys: &[
            (KeyCode::Tab, NONE),
            (KeyCode::BackTab, SHIFT),
            (KeyCode::BackTab, NONE),
            (KeyCode::Up, NONE),
            (KeyCode::Down, NONE),
        ],
        keys_label: "Tab, Up, Down",
        action: Action::NextField,
        help: "the other date (from, to)",
        hint: Some(("Tab", "from/to")),
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        keys_label: "Enter",
        action: Action::ApplyRange,
        help: "show that range",
        hint: Some(("Enter", "show")),
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        keys_label: "Esc",
        action: Action::CloseOverlay,
        help: "cancel (the period stays as it was)",
        hint: Some(("Esc", "cancel")),
    },
    Binding {
        keys: &[(KeyCode::Char('c'), CTRL)],
        keys_label: "Ctrl-C",
        action: Action::Quit,
        help: "quit",
        hint: None,
    },
];

pub fn bindings(mode: Mode) -> &'static [Binding] {
    match mode {
        Mode::Dashboard => BINDINGS,
        Mode::Range => RANGE_BINDINGS,
    }
}

/// The action for a key press in `mode`, if any. Releases are ignored; Shift is ignored for
/// characters (so `+`, `?` and `G` work whatever the keyboard layout needs to type them).
pub fn action_for(mode: Mode, key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let mut mods = key.modifiers;
    if matches!(key.code, KeyCode::Char(_)) {
        mods.remove(KeyModifiers::SHIFT);
    }
    bindings(mode)
        .iter()
        .find(|b| b.keys.iter().any(|(c, m)| *c == key.code && *m == mods))
        .map(|b| match (b.action, key.code) {
            (Action::Type(_), KeyCode::Char(typed)) => Action::Type(typed),
            (action, _) => action,
        })
}

/// The hint line's entries in `mode`, in table order.
pub fn hints(mode: Mode) -> impl Iterator<Item = (&'static str, &'static str)> {
    bindings(mode).iter().filter_map(|b| b.hint)
}

/// The dashboard's key table in Markdown, as README.md and docs/owner-tui.md show it (a test
/// checks that they do): one row per binding, its keys in code spans.
pub fn markdown_table() -> String {
    markdown_table_for(Mode::Dashboard)
}

/// `mode`'s key table in Markdown.
pub fn markdown_table_for(mode: Mode) -> String {
    let rows: Vec<(String, &str)> = bindings(mode)
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

    /// README.md and docs/owner-tui.md show the key table generated from `BINDINGS`, and
    /// docs/owner-tui.md the range's from `RANGE_BINDINGS`.
    #[test]
    fn the_documented_key_tables_are_the_key_map() {
        let read = |doc: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc);
            (std::fs::read_to_string(&path).unwrap(), path)
        };
        let table = markdown_table();
        for doc in ["../README.md", "../docs/owner-tui.md"] {
            let (text, path) = read(doc);
            assert!(
                text.contains(&table),
                "{} does not show the key map's table; it should be:\n{table}",
                path.display()
            );
        }
        let range = markdown_table_for(Mode::Range);
        let (text, path) = read("../docs/owner-tui.md");
        assert!(
            text.contains(&range),
            "{} does not show the date range's key table; it should be:\n{range}",
            path.display()
        );
    }

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn action_for(key: &KeyEvent) -> Option<Action> {
        super::action_for(Mode::Dashboard, key)
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
        for mode in [Mode::Dashboard, Mode::Range] {
            let mut seen = Vec::new();
            for b in bindings(mode) {
                for k in b.keys {
                    assert!(!seen.contains(k), "{k:?} bound twice in {mode:?}");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn views_switch_with_tab_and_enter_opens() {
        assert_eq!(action_for(&key(KeyCode::Tab, NONE)), Some(Action::NextView));
        assert_eq!(
            action_for(&key(KeyCode::BackTab, SHIFT)),
            Some(Action::PreviousView)
        );
        assert_eq!(action_for(&key(KeyCode::Enter, NONE)), Some(Action::Open));
        assert_eq!(
            action_for(&key(KeyCode::Char('d'), NONE)),
            Some(Action::TypeRange)
        );
    }

    /// While a range is typed, digits and `-` are typed (as themselves), letters do nothing
    /// (so `q` does not quit half-way through a date), Enter applies and Esc cancels.
    #[test]
    fn a_range_is_typed_with_digits_and_dashes_only() {
        let range = |code| super::action_for(Mode::Range, &key(code, NONE));
        assert_eq!(range(KeyCode::Char('7')), Some(Action::Type('7')));
        assert_eq!(range(KeyCode::Char('-')), Some(Action::Type('-')));
        assert_eq!(range(KeyCode::Char('q')), None);
        assert_eq!(range(KeyCode::Char('x')), None);
        assert_eq!(range(KeyCode::Enter), Some(Action::ApplyRange));
        assert_eq!(range(KeyCode::Esc), Some(Action::CloseOverlay));
        assert_eq!(range(KeyCode::Backspace), Some(Action::DeleteChar));
        assert_eq!(range(KeyCode::Tab), Some(Action::NextField));
        assert_eq!(
            super::action_for(Mode::Range, &key(KeyCode::Char('c'), CTRL)),
            Some(Action::Quit)
        );
    }
}
