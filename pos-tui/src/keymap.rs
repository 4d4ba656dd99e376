//! The key map: every key the till understands, per mode, as a table. `update` resolves keys
//! through it, and the status-bar hints and the help overlay are generated from it, so what the
//! screen says is always what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the keyboard is doing right now; each mode has its own bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Start of shift: choosing the branch.
    Branch,
    /// A sale: typing product codes, choosing the customer, editing the cart.
    Sale,
    /// Finding a product by name.
    ProductSearch,
    /// Finding a returning customer by the first characters of their id.
    CustomerSearch,
    /// A yes/no question (clear the cart, quit with an open cart).
    Confirm,
    /// The sale is being written to the database.
    Submitting,
    /// The sale is recorded; the receipt is on screen.
    Receipt,
    /// The help overlay.
    Help,
    /// The list of queued sales the database refused.
    Refused,
    /// Typing why the selected refused sale is set aside.
    SetAsideReason,
}

impl Mode {
    pub fn title(self) -> &'static str {
        match self {
            Mode::Branch => "Choosing the branch",
            Mode::Sale => "Sale",
            Mode::ProductSearch => "Product search",
            Mode::CustomerSearch => "Customer search",
            Mode::Confirm => "Questions",
            Mode::Submitting => "While the sale is written",
            Mode::Receipt => "Receipt",
            Mode::Help => "Help",
            Mode::Refused => "Refused queued sales",
            Mode::SetAsideReason => "Setting a refused sale aside",
        }
    }
}

/// A named thing the cashier can do; `update` acts on these, never on raw keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    ShowHelp,
    CloseHelp,
    /// The list of queued sales the database refused.
    ShowRefused,
    CloseRefused,
    /// Put the selected refused sale back in the queue.
    ResendRefused,
    /// Start typing why the selected refused sale is set aside.
    StartSetAside,
    /// A character of that reason (the character comes from the key).
    ReasonChar,
    ReasonBackspace,
    ConfirmSetAside,
    CancelSetAside,
    Up,
    Down,
    ChooseBranch,
    /// Branch by its number in the list (the digit comes from the key).
    BranchByNumber,
    /// A digit of a product code (the digit comes from the key).
    CodeDigit,
    CodeBackspace,
    /// Add the product whose code was typed.
    AddCode,
    ClearCode,
    /// Add the product on this function key (F1 = first product, ...).
    QuickKey,
    NewCustomer,
    FindCustomer,
    FindProduct,
    RemoveSelected,
    RemoveLast,
    ClearCart,
    ChangeBranch,
    Submit,
    /// A character typed into a search box (the character comes from the key).
    TypeChar,
    DeleteChar,
    PickResult,
    CancelSearch,
    Yes,
    No,
    NextSale,
}

/// Which keys a binding matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// This character (shift is part of the character).
    Char(char),
    /// This special key.
    Code(KeyCode),
    /// Control and this letter.
    Ctrl(char),
    /// Any digit 0-9.
    Digit,
    /// F1 to F10.
    FunctionKey,
    /// Any printable character.
    Printable,
    /// Any key at all.
    Any,
}

impl Keys {
    pub fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match (self, key.code) {
            (Keys::Any, _) => true,
            (Keys::Ctrl(c), KeyCode::Char(k)) => ctrl && k.eq_ignore_ascii_case(&c),
            (_, _) if ctrl || alt => false,
            (Keys::Char(c), KeyCode::Char(k)) => c == k,
            (Keys::Code(c), k) => c == k,
            (Keys::Digit, KeyCode::Char(k)) => k.is_ascii_digit(),
            (Keys::FunctionKey, KeyCode::F(n)) => (1..=10).contains(&n),
            (Keys::Printable, KeyCode::Char(k)) => !k.is_control(),
            _ => false,
        }
    }
}

pub struct Binding {
    pub keys: Keys,
    pub action: Action,
    /// How the keys are written in hints and help; empty for an alias of the line above.
    pub label: &'static str,
    /// What it does, in a few words.
    pub does: &'static str,
    /// The words shown after the keys in the status bar; None: listed in the help only.
    pub hint: Option<&'static str>,
}

/// In the status bar (with short words) and in the help.
const fn b(
    keys: Keys,
    action: Action,
    label: &'static str,
    does: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        keys,
        action,
        label,
        does,
        hint: Some(hint),
    }
}

/// Listed in the help overlay only.
const fn h(keys: Keys, action: Action, label: &'static str, does: &'static str) -> Binding {
    Binding {
        keys,
        action,
        label,
        does,
        hint: None,
    }
}

/// An alias: same action as the labelled line above it, not listed.
const fn a(keys: Keys, action: Action) -> Binding {
    Binding {
        keys,
        action,
        label: "",
        does: "",
        hint: None,
    }
}

use Action as A;
use Keys as K;

/// Bindings that hold in every mode (checked first).
pub const GLOBAL: &[Binding] = &[h(
    K::Ctrl('c'),
    A::Quit,
    "Ctrl+C",
    "quit (asks if sale open)",
)];

const BRANCH: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::ChooseBranch,
        "Enter",
        "choose the branch",
        "choose",
    ),
    b(K::Code(KeyCode::Up), A::Up, "↑↓", "move", "move"),
    a(K::Code(KeyCode::Down), A::Down),
    b(
        K::Digit,
        A::BranchByNumber,
        "1-9",
        "branch by its number",
        "by number",
    ),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
];

/// What R does (listed once, under "Everywhere").
const REFUSED_DOES: &str = "refused queued sales";

const SALE: &[Binding] = &[
    b(K::Char('s'), A::Submit, "s", "submit the sale", "submit"),
    h(K::Code(KeyCode::F(12)), A::Submit, "F12", "submit the sale"),
    b(
        K::Char('n'),
        A::NewCustomer,
        "n",
        "new customer",
        "new cust",
    ),
    b(
        K::Char('c'),
        A::FindCustomer,
        "c",
        "find a returning customer",
        "find cust",
    ),
    h(K::Digit, A::CodeDigit, "0-9", "type a product code"),
    h(
        K::Code(KeyCode::Enter),
        A::AddCode,
        "Enter",
        "add the product of the code",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::CodeBackspace,
        "Backspace",
        "erase a digit",
    ),
    h(K::Code(KeyCode::Esc), A::ClearCode, "Esc", "erase the code"),
    h(
        K::FunctionKey,
        A::QuickKey,
        "F1-F10",
        "add the quick-key product",
    ),
    b(
        K::Char('/'),
        A::FindProduct,
        "/",
        "find a product by name",
        "product",
    ),
    h(K::Code(KeyCode::Up), A::Up, "↑↓", "select a cart line"),
    a(K::Code(KeyCode::Down), A::Down),
    h(
        K::Char('x'),
        A::RemoveSelected,
        "x / Del",
        "remove the selected line",
    ),
    a(K::Code(KeyCode::Delete), A::RemoveSelected),
    h(K::Char('-'), A::RemoveLast, "-", "remove the last line"),
    h(K::Char('X'), A::ClearCart, "X", "clear the cart (asks)"),
    h(
        K::Char('b'),
        A::ChangeBranch,
        "b",
        "change branch (empty sale)",
    ),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
];

const PRODUCT_SEARCH: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::PickResult,
        "Enter",
        "take the selected one",
        "add",
    ),
    b(K::Code(KeyCode::Up), A::Up, "↑↓", "move", "move"),
    a(K::Code(KeyCode::Down), A::Down),
    b(
        K::Code(KeyCode::Esc),
        A::CancelSearch,
        "Esc",
        "cancel",
        "cancel",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::DeleteChar,
        "Backspace",
        "erase",
    ),
    b(
        K::Printable,
        A::TypeChar,
        "letters",
        "part of the product name",
        "name",
    ),
];

const CUSTOMER_SEARCH: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::PickResult,
        "Enter",
        "take the selected one",
        "choose",
    ),
    b(K::Code(KeyCode::Up), A::Up, "↑↓", "move", "move"),
    a(K::Code(KeyCode::Down), A::Down),
    b(
        K::Code(KeyCode::Esc),
        A::CancelSearch,
        "Esc",
        "cancel",
        "cancel",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::DeleteChar,
        "Backspace",
        "erase",
    ),
    b(
        K::Printable,
        A::TypeChar,
        "0-9 a-f",
        "start of the customer id",
        "id",
    ),
];

const CONFIRM: &[Binding] = &[
    b(K::Char('y'), A::Yes, "y", "yes", "yes"),
    a(K::Char('Y'), A::Yes),
    b(K::Char('n'), A::No, "n / Esc", "no", "no"),
    a(K::Char('N'), A::No),
    a(K::Code(KeyCode::Esc), A::No),
];

const SUBMITTING: &[Binding] = &[b(K::Char('?'), A::ShowHelp, "?", "help", "help")];

const RECEIPT: &[Binding] = &[
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
    b(
        K::Any,
        A::NextSale,
        "any key",
        "start the next sale",
        "next sale",
    ),
];

const HELP: &[Binding] = &[b(
    K::Any,
    A::CloseHelp,
    "any key",
    "close the help",
    "close help",
)];

const REFUSED: &[Binding] = &[
    b(K::Code(KeyCode::Up), A::Up, "↑↓", "choose a sale", "choose"),
    a(K::Code(KeyCode::Down), A::Down),
    b(
        K::Char('r'),
        A::ResendRefused,
        "r",
        "send the sale again (after fixing the cause)",
        "resend",
    ),
    b(
        K::Char('a'),
        A::StartSetAside,
        "a",
        "set the sale aside, with a reason",
        "set aside",
    ),
    b(
        K::Any,
        A::CloseRefused,
        "other keys",
        "close the list",
        "close",
    ),
];

const SET_ASIDE_REASON: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::ConfirmSetAside,
        "Enter",
        "set the sale aside",
        "set aside",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelSetAside,
        "Esc",
        "cancel",
        "cancel",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::ReasonBackspace,
        "Backspace",
        "erase",
    ),
    b(
        K::Printable,
        A::ReasonChar,
        "letters",
        "the reason",
        "reason",
    ),
];

pub fn bindings(mode: Mode) -> &'static [Binding] {
    match mode {
        Mode::Branch => BRANCH,
        Mode::Sale => SALE,
        Mode::ProductSearch => PRODUCT_SEARCH,
        Mode::CustomerSearch => CUSTOMER_SEARCH,
        Mode::Confirm => CONFIRM,
        Mode::Submitting => SUBMITTING,
        Mode::Receipt => RECEIPT,
        Mode::Help => HELP,
        Mode::Refused => REFUSED,
        Mode::SetAsideReason => SET_ASIDE_REASON,
    }
}

/// The help overlay's sections: a title and the modes whose keys it lists.
pub const HELP_SECTIONS: &[(&str, &[Mode])] = &[
    ("Sale", &[Mode::Sale]),
    ("Receipt", &[Mode::Receipt]),
    ("Start of shift", &[Mode::Branch]),
    (
        "Searches (/ and c)",
        &[Mode::ProductSearch, Mode::CustomerSearch],
    ),
    ("Questions", &[Mode::Confirm]),
];

/// Every mode, for tests.
pub const ALL_MODES: &[Mode] = &[
    Mode::Branch,
    Mode::Sale,
    Mode::ProductSearch,
    Mode::CustomerSearch,
    Mode::Confirm,
    Mode::Submitting,
    Mode::Receipt,
    Mode::Help,
    Mode::Refused,
    Mode::SetAsideReason,
];

/// The action for `key` in `mode`, if any.
pub fn resolve(mode: Mode, key: &KeyEvent) -> Option<Action> {
    GLOBAL
        .iter()
        .chain(bindings(mode))
        .find(|binding| binding.keys.matches(key))
        .map(|binding| binding.action)
}

/// The status-bar hints for `mode`: ("keys", "short words").
pub fn hints(mode: Mode) -> Vec<(&'static str, &'static str)> {
    bindings(mode)
        .iter()
        .filter(|binding| !binding.label.is_empty())
        .filter_map(|binding| binding.hint.map(|hint| (binding.label, hint)))
        .collect()
}

/// The labelled bindings of `modes` for the help overlay, without repeats and without help and
/// quit and R (listed once, under "Everywhere"); ("keys", "what it does").
pub fn help(modes: &[Mode]) -> Vec<(&'static str, &'static str)> {
    let mut lines: Vec<(&str, &str)> = Vec::new();
    for binding in modes.iter().flat_map(|m| bindings(*m)) {
        let skip = binding.label.is_empty()
            || matches!(
                binding.action,
                Action::ShowHelp | Action::Quit | Action::ShowRefused
            )
            || lines.contains(&(binding.label, binding.does));
        if !skip {
            lines.push((binding.label, binding.does));
        }
    }
    lines
}

/// The "Everywhere" section of the help.
pub fn help_everywhere() -> Vec<(&'static str, &'static str)> {
    let mut lines: Vec<(&str, &str)> = GLOBAL.iter().map(|b| (b.label, b.does)).collect();
    lines.push(("? / q", "help, quit (not searching)"));
    lines.push(("R", REFUSED_DOES));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn digits_are_code_in_a_sale_and_text_in_a_search() {
        assert_eq!(
            resolve(Mode::Sale, &key(KeyCode::Char('7'))),
            Some(Action::CodeDigit)
        );
        assert_eq!(
            resolve(Mode::CustomerSearch, &key(KeyCode::Char('7'))),
            Some(Action::TypeChar)
        );
        assert_eq!(
            resolve(Mode::ProductSearch, &key(KeyCode::Char('q'))),
            Some(Action::TypeChar)
        );
    }

    #[test]
    fn ctrl_c_quits_everywhere_and_ctrl_letters_are_not_text() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in ALL_MODES {
            assert_eq!(resolve(*mode, &ctrl_c), Some(Action::Quit), "{mode:?}");
        }
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(resolve(Mode::Sale, &ctrl_s), None);
        assert_eq!(resolve(Mode::ProductSearch, &ctrl_s), None);
    }

    #[test]
    fn submitting_ignores_the_submit_key() {
        assert_eq!(resolve(Mode::Submitting, &key(KeyCode::Char('s'))), None);
        assert_eq!(resolve(Mode::Submitting, &key(KeyCode::F(12))), None);
        assert_eq!(
            resolve(Mode::Sale, &key(KeyCode::F(12))),
            Some(Action::Submit)
        );
    }

    #[test]
    fn hints_come_from_the_table() {
        let hints = hints(Mode::Sale);
        assert!(hints.contains(&("s", "submit")), "{hints:?}");
        assert!(!hints.iter().any(|(label, _)| label.is_empty()));
        let help = help(&[Mode::Sale]);
        assert!(help.contains(&("X", "clear the cart (asks)")));
    }

    #[test]
    fn every_mode_is_in_the_help_and_help_and_quit_work_where_it_says() {
        let listed: Vec<Mode> = HELP_SECTIONS
            .iter()
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        for mode in ALL_MODES {
            if !matches!(
                mode,
                Mode::Submitting | Mode::Help | Mode::Refused | Mode::SetAsideReason
            ) {
                assert!(listed.contains(mode), "{mode:?} missing from the help");
            }
        }
        // "Everywhere: ? help, q quit, R refused sales (not in a search)" must be true.
        for mode in [Mode::Branch, Mode::Sale, Mode::Receipt] {
            assert_eq!(
                resolve(mode, &key(KeyCode::Char('?'))),
                Some(Action::ShowHelp)
            );
            assert_eq!(resolve(mode, &key(KeyCode::Char('q'))), Some(Action::Quit));
            assert_eq!(
                resolve(mode, &key(KeyCode::Char('R'))),
                Some(Action::ShowRefused)
            );
        }
        assert_eq!(
            resolve(Mode::Refused, &key(KeyCode::Char('x'))),
            Some(Action::CloseRefused)
        );
    }
}
