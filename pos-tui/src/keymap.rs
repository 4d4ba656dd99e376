//! The key map: every key the till understands, per mode, as a table. `update` resolves keys
//! through it, and the status-bar hints and the help overlay are generated from it, so what the
//! screen says is always what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the keyboard is doing right now; each mode has its own bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Start of shift: choosing the branch.
    Branch,
    /// Signing in: typing the cashier number.
    SignIn,
    /// Signing in: typing the cashier's PIN.
    Pin,
    /// The PIN is being checked.
    CheckingPin,
    /// A sale: typing product codes, choosing the customer, editing the cart.
    Sale,
    /// A sale with a code typed: a product code, or a customer card's id (hex and dashes).
    Code,
    /// After `s`: cash (the amount tendered) or card.
    Payment,
    /// A refund: typing or scanning the sale's receipt number.
    RefundReceipt,
    /// A refund: choosing the lines given back.
    RefundLines,
    /// A void or refund: typing its reason.
    UndoReason,
    /// A void or refund: the confirming manager's number.
    ManagerNumber,
    /// A void or refund: the manager's PIN.
    ManagerPin,
    /// A void or refund is being looked up, checked or written.
    UndoWorking,
    /// The shift report (X, or Z once closed) over the screen.
    Report,
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
            Mode::SignIn => "Cashier sign-in",
            Mode::Pin => "Cashier PIN",
            Mode::CheckingPin => "While the PIN is checked",
            Mode::Sale => "Sale",
            Mode::Code => "Typing a code or a card",
            Mode::Payment => "Payment",
            Mode::RefundReceipt => "Refund: the receipt number",
            Mode::RefundLines => "Refund: the lines",
            Mode::UndoReason => "Void or refund: the reason",
            Mode::ManagerNumber => "Manager's number",
            Mode::ManagerPin => "Manager's PIN",
            Mode::UndoWorking => "While a void or refund is written",
            Mode::Report => "Shift report",
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

/// What a binding does, as the key table names it (no payload: the table is a constant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    ShowHelp,
    CloseHelp,
    /// Scroll the help overlay (when it does not fit).
    ScrollHelpUp,
    ScrollHelpDown,
    /// The list of queued sales the database refused.
    ShowRefused,
    CloseRefused,
    /// Put the selected refused sale back in the queue.
    ResendRefused,
    /// Start typing why the selected refused sale is set aside.
    StartSetAside,
    /// A character of that reason.
    ReasonChar,
    ReasonBackspace,
    ConfirmSetAside,
    CancelSetAside,
    Up,
    Down,
    ChooseBranch,
    /// Branch by its number in the list.
    BranchByNumber,
    /// A digit of a product code.
    CodeDigit,
    /// A hex letter or a dash of a customer card's id.
    CardChar,
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
    /// Sign in the cashier whose number was typed.
    SignIn,
    /// Check the PIN typed.
    CheckPin,
    /// Leave the PIN for another cashier number.
    CancelPin,
    /// The cashier leaves the till.
    SignOut,
    Submit,
    /// A character typed into a search box (or the PIN).
    TypeChar,
    DeleteChar,
    PickResult,
    CancelSearch,
    Yes,
    No,
    NextSale,
    /// Print the last receipt again.
    PrintLast,
    /// Cash with the amount typed (none: the exact amount).
    PayCash,
    PayCard,
    CancelPayment,
    /// Void the last sale of this shift (a manager confirms).
    StartVoid,
    /// Refund a sale by its receipt number (a manager confirms).
    StartRefund,
    /// Leave the void or refund.
    CancelUndo,
    /// Look up the receipt number typed.
    FindReceipt,
    /// Choose or leave out the selected line.
    ToggleLine,
    /// Choose every line left.
    AllLines,
    /// The lines are chosen: on to the reason.
    LinesChosen,
    /// The reason is typed: on to the manager.
    ReasonDone,
    /// The manager's number is typed: on to the PIN.
    ManagerNumber,
    /// The running shift report.
    ShiftReport,
    /// Close the shift (asks first).
    CloseShift,
    /// Print the report on screen.
    PrintReport,
    CloseReport,
}

/// A command with what its key brought: what `update` acts on, never on raw keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    ShowHelp,
    CloseHelp,
    ScrollHelpUp,
    ScrollHelpDown,
    ShowRefused,
    CloseRefused,
    ResendRefused,
    StartSetAside,
    ReasonChar(char),
    ReasonBackspace,
    ConfirmSetAside,
    CancelSetAside,
    Up,
    Down,
    ChooseBranch,
    /// The branch's number in the list, from 1.
    BranchByNumber(u32),
    CodeDigit(char),
    CardChar(char),
    CodeBackspace,
    AddCode,
    ClearCode,
    /// The function key's number, from 1.
    QuickKey(u8),
    NewCustomer,
    FindCustomer,
    FindProduct,
    RemoveSelected,
    RemoveLast,
    ClearCart,
    ChangeBranch,
    SignIn,
    CheckPin,
    CancelPin,
    SignOut,
    Submit,
    TypeChar(char),
    DeleteChar,
    PickResult,
    CancelSearch,
    Yes,
    No,
    /// The key that started the next sale, if it was a digit: a scanner may already be typing
    /// the next sale's first code.
    NextSale {
        first_digit: Option<char>,
    },
    PrintLast,
    PayCash,
    PayCard,
    CancelPayment,
    StartVoid,
    StartRefund,
    CancelUndo,
    FindReceipt,
    ToggleLine,
    AllLines,
    LinesChosen,
    ReasonDone,
    ManagerNumber,
    ShiftReport,
    CloseShift,
    PrintReport,
    CloseReport,
}

impl Command {
    /// The action `key` makes of this command (None: the key lacks what the command needs).
    pub fn with_key(self, key: &KeyEvent) -> Option<Action> {
        let char = match key.code {
            KeyCode::Char(c) => Some(c),
            _ => None,
        };
        Some(match self {
            Command::Quit => Action::Quit,
            Command::ShowHelp => Action::ShowHelp,
            Command::CloseHelp => Action::CloseHelp,
            Command::ScrollHelpUp => Action::ScrollHelpUp,
            Command::ScrollHelpDown => Action::ScrollHelpDown,
            Command::ShowRefused => Action::ShowRefused,
            Command::CloseRefused => Action::CloseRefused,
            Command::ResendRefused => Action::ResendRefused,
            Command::StartSetAside => Action::StartSetAside,
            Command::ReasonChar => Action::ReasonChar(char?),
            Command::ReasonBackspace => Action::ReasonBackspace,
            Command::ConfirmSetAside => Action::ConfirmSetAside,
            Command::CancelSetAside => Action::CancelSetAside,
            Command::Up => Action::Up,
            Command::Down => Action::Down,
            Command::ChooseBranch => Action::ChooseBranch,
            Command::BranchByNumber => Action::BranchByNumber(char?.to_digit(10)?),
            Command::CodeDigit => Action::CodeDigit(char.filter(char::is_ascii_digit)?),
            Command::CardChar => Action::CardChar(char.filter(|c| is_card_char(*c))?),
            Command::CodeBackspace => Action::CodeBackspace,
            Command::AddCode => Action::AddCode,
            Command::ClearCode => Action::ClearCode,
            Command::QuickKey => match key.code {
                KeyCode::F(n) => Action::QuickKey(n),
                _ => return None,
            },
            Command::NewCustomer => Action::NewCustomer,
            Command::FindCustomer => Action::FindCustomer,
            Command::FindProduct => Action::FindProduct,
            Command::RemoveSelected => Action::RemoveSelected,
            Command::RemoveLast => Action::RemoveLast,
            Command::ClearCart => Action::ClearCart,
            Command::ChangeBranch => Action::ChangeBranch,
            Command::SignIn => Action::SignIn,
            Command::CheckPin => Action::CheckPin,
            Command::CancelPin => Action::CancelPin,
            Command::SignOut => Action::SignOut,
            Command::Submit => Action::Submit,
            Command::TypeChar => Action::TypeChar(char?),
            Command::DeleteChar => Action::DeleteChar,
            Command::PickResult => Action::PickResult,
            Command::CancelSearch => Action::CancelSearch,
            Command::Yes => Action::Yes,
            Command::No => Action::No,
            Command::NextSale => Action::NextSale {
                first_digit: char.filter(char::is_ascii_digit),
            },
            Command::PrintLast => Action::PrintLast,
            Command::PayCash => Action::PayCash,
            Command::PayCard => Action::PayCard,
            Command::CancelPayment => Action::CancelPayment,
            Command::StartVoid => Action::StartVoid,
            Command::StartRefund => Action::StartRefund,
            Command::CancelUndo => Action::CancelUndo,
            Command::FindReceipt => Action::FindReceipt,
            Command::ToggleLine => Action::ToggleLine,
            Command::AllLines => Action::AllLines,
            Command::LinesChosen => Action::LinesChosen,
            Command::ReasonDone => Action::ReasonDone,
            Command::ManagerNumber => Action::ManagerNumber,
            Command::ShiftReport => Action::ShiftReport,
            Command::CloseShift => Action::CloseShift,
            Command::PrintReport => Action::PrintReport,
            Command::CloseReport => Action::CloseReport,
        })
    }
}

/// A letter or dash of a customer id after its first character (`0195a3c4-...`).
fn is_card_char(c: char) -> bool {
    matches!(c, 'a'..='f' | 'A'..='F' | '-')
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
    /// A hex letter a-f (either case) or a dash, as in a customer id.
    CardChar,
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
            (Keys::CardChar, KeyCode::Char(k)) => is_card_char(k),
            (Keys::FunctionKey, KeyCode::F(n)) => (1..=10).contains(&n),
            (Keys::Printable, KeyCode::Char(k)) => !k.is_control(),
            _ => false,
        }
    }
}

pub struct Binding {
    pub keys: Keys,
    pub action: Command,
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
    action: Command,
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
const fn h(keys: Keys, action: Command, label: &'static str, does: &'static str) -> Binding {
    Binding {
        keys,
        action,
        label,
        does,
        hint: None,
    }
}

/// An alias: same action as the labelled line above it, not listed.
const fn a(keys: Keys, action: Command) -> Binding {
    Binding {
        keys,
        action,
        label: "",
        does: "",
        hint: None,
    }
}

use Command as A;
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

const SIGN_IN: &[Binding] = &[
    b(
        K::Digit,
        A::CodeDigit,
        "0-9",
        "type your cashier number",
        "number",
    ),
    b(
        K::Code(KeyCode::Enter),
        A::SignIn,
        "Enter",
        "sign in",
        "sign in",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::CodeBackspace,
        "Backspace",
        "erase a digit",
    ),
    h(
        K::Code(KeyCode::Esc),
        A::ClearCode,
        "Esc",
        "erase the number",
    ),
    h(K::Char('b'), A::ChangeBranch, "b", "choose another branch"),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
];

const PIN: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::CheckPin,
        "Enter",
        "check the PIN",
        "check",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelPin,
        "Esc",
        "another cashier number",
        "back",
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
        "characters",
        "the PIN (shown as *)",
        "PIN",
    ),
];

const CHECKING_PIN: &[Binding] = &[b(K::Char('?'), A::ShowHelp, "?", "help", "help")];

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
        K::Char('a'),
        A::CardChar,
        "a d e f",
        "start a customer card's id",
    ),
    a(K::Char('d'), A::CardChar),
    a(K::Char('e'), A::CardChar),
    a(K::Char('f'), A::CardChar),
    h(K::Char('p'), A::PrintLast, "p", PRINT_DOES),
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
    h(K::Char('C'), A::ClearCart, "C", "clear the cart (asks)"),
    h(K::Char('V'), A::StartVoid, "V", VOID_DOES),
    h(K::Char('r'), A::StartRefund, "r", REFUND_DOES),
    h(K::Char('X'), A::ShiftReport, "X", REPORT_DOES),
    h(K::Char('Z'), A::CloseShift, "Z", CLOSE_DOES),
    h(
        K::Char('b'),
        A::ChangeBranch,
        "b",
        "change branch (empty sale)",
    ),
    h(K::Char('L'), A::SignOut, "L", SIGN_OUT_DOES),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
];

/// With a code typed: hex letters and dashes go on typing (a customer card), Enter takes it; every
/// other key is the sale's.
const CODE: &[Binding] = &[
    h(K::Digit, A::CodeDigit, "0-9", "go on typing the code"),
    h(
        K::CardChar,
        A::CardChar,
        "a-f -",
        "go on typing a card's id",
    ),
    h(
        K::Code(KeyCode::Enter),
        A::AddCode,
        "Enter",
        "add product, or take card",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::CodeBackspace,
        "Backspace",
        "erase a character",
    ),
    h(K::Code(KeyCode::Esc), A::ClearCode, "Esc", "erase the code"),
];

const PAYMENT: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::PayCash,
        "Enter",
        "cash (alone: exact amount)",
        "cash",
    ),
    b(K::Char('k'), A::PayCard, "k", "card", "card"),
    b(
        K::Code(KeyCode::Esc),
        A::CancelPayment,
        "Esc",
        "back to the sale",
        "back",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::DeleteChar,
        "Backspace",
        "erase",
    ),
    b(
        K::Digit,
        A::TypeChar,
        "0-9 .",
        "the cash tendered",
        "tendered",
    ),
    a(K::Char('.'), A::TypeChar),
    a(K::Char(','), A::TypeChar),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
];

const REFUND_RECEIPT: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::FindReceipt,
        "Enter",
        "find the sale",
        "find",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelUndo,
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
        "T01-000012",
        "the receipt number (typed or scanned)",
        "receipt no.",
    ),
];

const REFUND_LINES: &[Binding] = &[
    b(K::Code(KeyCode::Up), A::Up, "↑↓", "choose a line", "move"),
    a(K::Code(KeyCode::Down), A::Down),
    b(
        K::Char(' '),
        A::ToggleLine,
        "Space",
        "give the line back, or not",
        "give back",
    ),
    b(K::Char('a'), A::AllLines, "a", "every line left", "all"),
    b(
        K::Code(KeyCode::Enter),
        A::LinesChosen,
        "Enter",
        "refund the lines chosen",
        "refund",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelUndo,
        "Esc",
        "cancel",
        "cancel",
    ),
];

const UNDO_REASON: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::ReasonDone,
        "Enter",
        "the reason is typed",
        "done",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelUndo,
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
        "why it is undone",
        "reason",
    ),
];

const MANAGER_NUMBER: &[Binding] = &[
    b(
        K::Digit,
        A::CodeDigit,
        "0-9",
        "the manager's number",
        "number",
    ),
    b(
        K::Code(KeyCode::Enter),
        A::ManagerNumber,
        "Enter",
        "on to the manager's PIN",
        "PIN",
    ),
    h(
        K::Code(KeyCode::Backspace),
        A::CodeBackspace,
        "Backspace",
        "erase a digit",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelUndo,
        "Esc",
        "cancel",
        "cancel",
    ),
];

const MANAGER_PIN: &[Binding] = &[
    b(
        K::Code(KeyCode::Enter),
        A::CheckPin,
        "Enter",
        "check the PIN and confirm",
        "confirm",
    ),
    b(
        K::Code(KeyCode::Esc),
        A::CancelUndo,
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
        "characters",
        "the manager's PIN (shown as *)",
        "PIN",
    ),
];

const UNDO_WORKING: &[Binding] = &[b(K::Char('?'), A::ShowHelp, "?", "help", "help")];

const REPORT: &[Binding] = &[
    b(
        K::Char('p'),
        A::PrintReport,
        "p",
        "print the report",
        "print",
    ),
    b(
        K::Any,
        A::CloseReport,
        "other keys",
        "close the report",
        "close",
    ),
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

/// What L does (yes to its question drops the open sale).
const SIGN_OUT_DOES: &str = "sign out; asks if sale open";

/// What V, r, X and Z do.
const VOID_DOES: &str = "void last sale (manager)";
const REFUND_DOES: &str = "refund by receipt (manager)";
const REPORT_DOES: &str = "the running shift report";
const CLOSE_DOES: &str = "close the shift, Z (asks)";

/// What p does.
const PRINT_DOES: &str = "reprint the last receipt";

const RECEIPT: &[Binding] = &[
    b(K::Char('q'), A::Quit, "q", "quit", "quit"),
    h(K::Char('p'), A::PrintLast, "p", PRINT_DOES),
    b(K::Char('?'), A::ShowHelp, "?", "help", "help"),
    // As in a sale (listed there): from the receipt they act on the next, empty sale.
    a(K::Char('V'), A::StartVoid),
    a(K::Char('r'), A::StartRefund),
    a(K::Char('X'), A::ShiftReport),
    a(K::Char('Z'), A::CloseShift),
    h(K::Char('R'), A::ShowRefused, "R", REFUSED_DOES),
    // Said on the receipt itself when the chain records cashiers.
    a(K::Char('L'), A::SignOut),
    b(
        K::Any,
        A::NextSale,
        "any key",
        "start the next sale",
        "next sale",
    ),
];

const HELP: &[Binding] = &[
    b(
        K::Code(KeyCode::Up),
        A::ScrollHelpUp,
        "↑↓",
        "scroll the help (when it does not fit)",
        "scroll",
    ),
    a(K::Code(KeyCode::Down), A::ScrollHelpDown),
    b(
        K::Any,
        A::CloseHelp,
        "other keys",
        "close the help",
        "close help",
    ),
];

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
        Mode::SignIn => SIGN_IN,
        Mode::Pin => PIN,
        Mode::CheckingPin => CHECKING_PIN,
        Mode::Sale => SALE,
        Mode::Code => CODE,
        Mode::Payment => PAYMENT,
        Mode::RefundReceipt => REFUND_RECEIPT,
        Mode::RefundLines => REFUND_LINES,
        Mode::UndoReason => UNDO_REASON,
        Mode::ManagerNumber => MANAGER_NUMBER,
        Mode::ManagerPin => MANAGER_PIN,
        Mode::UndoWorking => UNDO_WORKING,
        Mode::Report => REPORT,
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
    ("Code typed", &[Mode::Code]),
    ("Payment (s)", &[Mode::Payment]),
    ("Receipt", &[Mode::Receipt]),
    ("Start of shift", &[Mode::Branch]),
    (
        "Searches (/ and c)",
        &[Mode::ProductSearch, Mode::CustomerSearch],
    ),
    ("Questions", &[Mode::Confirm]),
];

/// Listed in the Markdown key table but not in the help overlay: the sign-in and the refused
/// list say their keys themselves, and the help's own keys are on its title and the status bar.
pub const MORE_DOC_SECTIONS: &[(&str, &[Mode])] = &[
    ("Cashier sign-in", &[Mode::SignIn]),
    ("Cashier PIN", &[Mode::Pin]),
    ("Refused list (R)", &[Mode::Refused, Mode::SetAsideReason]),
    ("Refund (r): the receipt number", &[Mode::RefundReceipt]),
    ("Refund: the lines", &[Mode::RefundLines]),
    ("Void (V) or refund: the reason", &[Mode::UndoReason]),
    (
        "Void or refund: the manager's number",
        &[Mode::ManagerNumber],
    ),
    ("Void or refund: the manager's PIN", &[Mode::ManagerPin]),
    ("Shift report (X, Z)", &[Mode::Report]),
    ("Help (?)", &[Mode::Help]),
];

/// A section of the help or the key table: its title and its ("keys", "what it does").
pub type Section = (&'static str, Vec<(&'static str, &'static str)>);

/// `sections` and then "Everywhere".
fn sections_of(sections: &[&[(&'static str, &[Mode])]]) -> Vec<Section> {
    let mut all: Vec<Section> = sections
        .iter()
        .flat_map(|s| s.iter())
        .map(|(title, modes)| (*title, help(modes)))
        .collect();
    all.push(("Everywhere", help_everywhere()));
    all
}

/// The help overlay's sections, "Everywhere" last.
pub fn help_sections() -> Vec<Section> {
    sections_of(&[HELP_SECTIONS])
}

/// The key table of the README and docs/pos-tui.md, as Markdown: every labelled key of every
/// mode.
pub fn markdown_table() -> String {
    let mut table = String::from("| Where | Key | Does |\n|---|---|---|\n");
    for (title, keys) in sections_of(&[HELP_SECTIONS, MORE_DOC_SECTIONS]) {
        for (i, (key, does)) in keys.iter().enumerate() {
            let place = if i == 0 {
                format!(" {title} ")
            } else {
                " ".into()
            };
            table.push_str(&format!("|{place}| {key} | {does} |\n"));
        }
    }
    table
}

/// Every mode, for tests.
pub const ALL_MODES: &[Mode] = &[
    Mode::Branch,
    Mode::SignIn,
    Mode::Pin,
    Mode::CheckingPin,
    Mode::Sale,
    Mode::Code,
    Mode::Payment,
    Mode::RefundReceipt,
    Mode::RefundLines,
    Mode::UndoReason,
    Mode::ManagerNumber,
    Mode::ManagerPin,
    Mode::UndoWorking,
    Mode::Report,
    Mode::ProductSearch,
    Mode::CustomerSearch,
    Mode::Confirm,
    Mode::Submitting,
    Mode::Receipt,
    Mode::Help,
    Mode::Refused,
    Mode::SetAsideReason,
];

/// Where a key goes that `mode`'s own table lacks: a code typed leaves the sale's keys working.
pub fn fallback(mode: Mode) -> Option<Mode> {
    match mode {
        Mode::Code => Some(Mode::Sale),
        _ => None,
    }
}

/// The action for `key` in `mode`, if any.
pub fn resolve(mode: Mode, key: &KeyEvent) -> Option<Action> {
    let fallback = fallback(mode).map_or(&[][..], bindings);
    GLOBAL
        .iter()
        .chain(bindings(mode))
        .chain(fallback)
        .find(|binding| binding.keys.matches(key))
        .and_then(|binding| binding.action.with_key(key))
}

/// The status-bar hints for `mode`: ("keys", "short words").
pub fn hints(mode: Mode) -> Vec<(&'static str, &'static str)> {
    let fallback = fallback(mode).map_or(&[][..], bindings);
    bindings(mode)
        .iter()
        .chain(fallback)
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
                Command::ShowHelp | Command::Quit | Command::ShowRefused
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
            Some(Action::CodeDigit('7'))
        );
        assert_eq!(
            resolve(Mode::CustomerSearch, &key(KeyCode::Char('7'))),
            Some(Action::TypeChar('7'))
        );
        assert_eq!(
            resolve(Mode::ProductSearch, &key(KeyCode::Char('q'))),
            Some(Action::TypeChar('q'))
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
        // Clearing the cart moved from X to C when X became the shift report.
        assert!(help.contains(&("C", "clear the cart (asks)")));
        assert!(help.contains(&("X", "the running shift report")));
    }

    #[test]
    fn every_mode_is_in_the_help_and_help_and_quit_work_where_it_says() {
        let listed: Vec<Mode> = HELP_SECTIONS
            .iter()
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        for mode in ALL_MODES {
            // These say their keys on screen (MORE_DOC_SECTIONS) or take none.
            if !matches!(
                mode,
                Mode::Submitting
                    | Mode::RefundReceipt
                    | Mode::RefundLines
                    | Mode::UndoReason
                    | Mode::ManagerNumber
                    | Mode::ManagerPin
                    | Mode::UndoWorking
                    | Mode::Report
                    | Mode::SignIn
                    | Mode::Pin
                    | Mode::CheckingPin
                    | Mode::Help
                    | Mode::Refused
                    | Mode::SetAsideReason
            ) {
                assert!(listed.contains(mode), "{mode:?} missing from the help");
            }
        }
        // "Everywhere: ? help, q quit, R refused sales (not in a search)" must be true.
        for mode in [Mode::Branch, Mode::SignIn, Mode::Sale, Mode::Receipt] {
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

    #[test]
    fn l_signs_out_and_the_pin_takes_every_printable_key() {
        for mode in [Mode::Sale, Mode::Receipt] {
            assert_eq!(
                resolve(mode, &key(KeyCode::Char('L'))),
                Some(Action::SignOut),
                "{mode:?}"
            );
        }
        for c in ['q', '?', 'R', '7', 'L'] {
            assert_eq!(
                resolve(Mode::Pin, &key(KeyCode::Char(c))),
                Some(Action::TypeChar(c))
            );
        }
        assert_eq!(
            resolve(Mode::SignIn, &key(KeyCode::Char('4'))),
            Some(Action::CodeDigit('4'))
        );
        assert_eq!(resolve(Mode::CheckingPin, &key(KeyCode::Enter)), None);
    }

    #[test]
    fn a_typed_code_takes_a_card_and_the_sale_keys_work_around_it() {
        // Empty code: b and c are the sale's; a, d, e, f start a card.
        assert_eq!(
            resolve(Mode::Sale, &key(KeyCode::Char('c'))),
            Some(Action::FindCustomer)
        );
        assert_eq!(
            resolve(Mode::Sale, &key(KeyCode::Char('e'))),
            Some(Action::CardChar('e'))
        );
        assert_eq!(
            resolve(Mode::Sale, &key(KeyCode::Char('-'))),
            Some(Action::RemoveLast)
        );
        // A code typed: hex letters and dashes go on typing it; the others are the sale's.
        for c in ['b', 'c', '-', 'F'] {
            assert_eq!(
                resolve(Mode::Code, &key(KeyCode::Char(c))),
                Some(Action::CardChar(c))
            );
        }
        assert_eq!(
            resolve(Mode::Code, &key(KeyCode::Char('s'))),
            Some(Action::Submit)
        );
        assert_eq!(
            resolve(Mode::Code, &key(KeyCode::Enter)),
            Some(Action::AddCode)
        );
        assert!(hints(Mode::Code).contains(&("s", "submit")));
    }

    #[test]
    fn the_payment_takes_amounts_and_quits_nowhere() {
        assert_eq!(
            resolve(Mode::Payment, &key(KeyCode::Char('7'))),
            Some(Action::TypeChar('7'))
        );
        assert_eq!(
            resolve(Mode::Payment, &key(KeyCode::Char(','))),
            Some(Action::TypeChar(','))
        );
        assert_eq!(resolve(Mode::Payment, &key(KeyCode::Char('q'))), None);
        assert_eq!(
            resolve(Mode::Payment, &key(KeyCode::Char('k'))),
            Some(Action::PayCard)
        );
        assert_eq!(
            resolve(Mode::Payment, &key(KeyCode::Enter)),
            Some(Action::PayCash)
        );
        // The manager's PIN takes every printable key, like the cashier's.
        assert_eq!(
            resolve(Mode::ManagerPin, &key(KeyCode::Char('q'))),
            Some(Action::TypeChar('q'))
        );
        assert_eq!(resolve(Mode::UndoWorking, &key(KeyCode::Esc)), None);
        assert_eq!(
            resolve(Mode::Report, &key(KeyCode::Char('q'))),
            Some(Action::CloseReport)
        );
    }

    /// The first Markdown table after `heading` in `doc`.
    fn table_after(doc: &str, heading: &str) -> String {
        let start = doc
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?} in the document"));
        doc[start..]
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The key tables of the README and the till's manual are the key map's: a key added to
    /// one and not the other fails here (the message holds the table to paste).
    #[test]
    fn the_documented_key_tables_are_the_key_map() {
        let expected = markdown_table();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for (file, heading) in [
            ("README.md", "### Keys at the till"),
            ("docs/pos-tui.md", "### Keys\n"),
        ] {
            let doc = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            assert_eq!(
                table_after(&doc, heading),
                expected,
                "{file}'s key table differs from the key map; it should read:\n{expected}"
            );
        }
    }

    #[test]
    fn every_binding_with_a_label_is_in_the_markdown_table() {
        let table = markdown_table();
        for mode in ALL_MODES {
            for binding in bindings(*mode).iter().filter(|b| !b.label.is_empty()) {
                let row = format!("| {} | {} |", binding.label, binding.does);
                let everywhere = matches!(
                    binding.action,
                    Command::ShowHelp | Command::Quit | Command::ShowRefused
                );
                assert!(
                    everywhere || table.contains(&row),
                    "{mode:?}: {row} missing from\n{table}"
                );
            }
        }
    }
}
