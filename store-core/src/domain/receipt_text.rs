//! Receipts on paper: plain text for a receipt printer of 42 or 48 columns (the `receipt_width`
//! setting). Pure: no I/O, no clock; the till hands the text to its printer (a command's standard
//! input, or a file). Every name is shown escaped (`input::printable`) and cut to the paper, a
//! number never: a line too narrow for its label and amount puts the amount on a line of its own.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::domain::checkout::{PaymentMethod, Receipt, ReceiptLine, receipt_number};
use crate::domain::input::printable;
use crate::domain::refund::{RefundRecord, VoidRecord};
use crate::domain::shift::ShiftReport;
use crate::domain::time_zone::Tz;

/// The narrowest paper these receipts are laid out for.
pub const MIN_WIDTH: usize = 24;

const TIME: &str = "%Y-%m-%d %H:%M:%S";

/// The receipt of a recorded sale: branch, till, cashier, receipt number, time, customer, the
/// lines, the total and how it was paid. `branch_name`: the branch's name (the receipt's
/// branch id is printed too); `cashier_name`: the cashier's name, if the sale has a cashier.
pub fn sale_receipt(
    receipt: &Receipt,
    branch_name: &str,
    cashier_name: Option<&str>,
    zone: Tz,
    width: usize,
) -> String {
    let mut paper = Paper::new(width);
    paper.heading(branch_name, &receipt.supermarket_id);
    paper.field("Receipt", &receipt_label(receipt));
    paper.field("Time", &local_time(receipt.created_at, zone));
    if let Some(till) = &receipt.till {
        paper.field("Till", till);
    }
    if let Some(number) = receipt.cashier {
        paper.field("Cashier", &cashier_text(number, cashier_name));
    }
    let customer = if receipt.new_customer {
        "Customer (new)"
    } else {
        "Customer"
    };
    paper.field(customer, &receipt.user_id.to_string());
    paper.rule('-');
    paper.lines(&receipt.lines);
    paper.rule('-');
    paper.amount("TOTAL", receipt.total_amount);
    match receipt.payment_method {
        Some(PaymentMethod::Card) => paper.field("Paid by", "card"),
        Some(PaymentMethod::Cash) => {
            paper.amount("Cash", receipt.tendered.unwrap_or(receipt.total_amount));
            paper.amount("Change", receipt.change_due.unwrap_or_default());
        }
        None => {}
    }
    paper.blank();
    paper.centre("Thank you");
    paper.finish()
}

/// The slip of a voided sale: the sale it undoes, who confirmed it and why, and the amount.
pub fn void_slip(
    v: &VoidRecord,
    original: &Receipt,
    branch_name: &str,
    zone: Tz,
    width: usize,
) -> String {
    let mut paper = Paper::new(width);
    paper.heading(branch_name, &original.supermarket_id);
    paper.centre("*** VOID ***");
    paper.blank();
    paper.field("Sale voided", &receipt_label(original));
    paper.field("Sold at", &local_time(original.created_at, zone));
    paper.field("Voided at", &local_time(v.voided_at, zone));
    paper.field("Till", &v.till);
    if let Some(cashier) = v.cashier {
        paper.field("Cashier", &cashier.to_string());
    }
    paper.field("Manager", &v.manager.to_string());
    paper.wrapped("Reason", &v.reason);
    paper.rule('-');
    paper.lines(&original.lines);
    paper.rule('-');
    paper.amount("VOIDED", v.amount);
    if let Some(method) = original.payment_method {
        paper.field("Paid back by", method.as_str());
    }
    paper.finish()
}

/// The slip of a refund: the lines given back, at their prices as sold, and the amount.
pub fn refund_slip(
    r: &RefundRecord,
    original: &Receipt,
    branch_name: &str,
    zone: Tz,
    width: usize,
) -> String {
    let mut paper = Paper::new(width);
    paper.heading(branch_name, &original.supermarket_id);
    paper.centre("*** REFUND ***");
    paper.blank();
    paper.field("Refund", &format!("#{}", r.refund_id));
    paper.field("Of receipt", &receipt_label(original));
    paper.field("Sold at", &local_time(original.created_at, zone));
    paper.field("Refunded at", &local_time(r.refunded_at, zone));
    paper.field("Till", &r.till);
    if let Some(cashier) = r.cashier {
        paper.field("Cashier", &cashier.to_string());
    }
    paper.field("Manager", &r.manager.to_string());
    paper.wrapped("Reason", &r.reason);
    paper.rule('-');
    paper.lines(&r.lines);
    paper.rule('-');
    paper.amount("REFUNDED", r.amount);
    if let Some(method) = r.payment_method {
        paper.field("Paid back by", method.as_str());
    }
    paper.finish()
}

/// A shift's figures, as `X` (running) or `Z` (closed) prints them.
pub fn shift_report_text(report: &ShiftReport, zone: Tz, width: usize) -> String {
    let mut paper = Paper::new(width);
    paper.centre(if report.is_closed() {
        "Z REPORT - SHIFT CLOSED"
    } else {
        "X REPORT - RUNNING SHIFT"
    });
    paper.blank();
    paper.field("Till", &report.till);
    if report.shift_id > 0 {
        paper.field("Shift", &format!("#{}", report.shift_id));
    }
    paper.field("Opened", &local_time(report.opened_at, zone));
    if let Some(closed_at) = report.closed_at {
        paper.field("Closed", &local_time(closed_at, zone));
    }
    if let Some(by) = report.closed_by {
        paper.field("Closed by", &by.to_string());
    }
    paper.rule('-');
    paper.field("Sales", &report.sales.to_string());
    paper.amount("Revenue (gross)", report.revenue);
    for (method, count, amount) in &report.by_method {
        let name = method.map_or("not recorded", |m| m.as_str());
        paper.amount(&format!("  {name} ({count})"), *amount);
    }
    paper.amount("Cash expected in drawer", report.cash_expected);
    paper.rule('-');
    paper.amount(&format!("Voids ({})", report.voids), report.voided);
    paper.amount(&format!("Refunds ({})", report.refunds), report.refunded);
    paper.amount("Net (less voids, refunds)", report.net);
    paper.rule('-');
    let number =
        |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| receipt_number(&report.till, n));
    paper.field("First receipt", &number(report.first_receipt_no));
    paper.field("Last receipt", &number(report.last_receipt_no));
    let time =
        |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_string(), |t| local_time(t, zone));
    paper.field("First sale", &time(report.first_sale_at));
    paper.field("Last sale", &time(report.last_sale_at));
    paper.finish()
}

/// The receipt number (`T03-000124`), else the purchase number for a sale from no till.
fn receipt_label(receipt: &Receipt) -> String {
    receipt
        .receipt_number()
        .unwrap_or_else(|| format!("purchase #{}", receipt.purchase_id))
}

fn cashier_text(number: i32, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{number} {name}"),
        None => number.to_string(),
    }
}

fn local_time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format(TIME).to_string()
}

/// Money as printed: two decimals, a minus sign for money going back.
fn money(amount: Decimal) -> String {
    format!("{:.2}", amount.round_dp(2))
}

/// A receipt being laid out, line by line, `width` characters at most per line.
struct Paper {
    width: usize,
    text: String,
}

impl Paper {
    fn new(width: usize) -> Paper {
        Paper {
            width: width.max(MIN_WIDTH),
            text: String::new(),
        }
    }

    fn push(&mut self, line: &str) {
        let line = line.trim_end();
        debug_assert!(line.width() <= self.width, "{line:?}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn rule(&mut self, c: char) {
        let rule: String = std::iter::repeat_n(c, self.width).collect();
        self.push(&rule);
    }

    /// A line in the middle of the paper (cut when longer).
    fn centre(&mut self, text: &str) {
        let text = cut(&printable(text), self.width);
        let pad = (self.width - text.width()) / 2;
        self.push(&format!("{}{text}", " ".repeat(pad)));
    }

    /// The branch's name and id, centred, then a blank line.
    fn heading(&mut self, branch_name: &str, branch_id: &str) {
        let name = branch_name.trim();
        if !name.is_empty() {
            self.centre(name);
        }
        self.centre(&format!("Branch {branch_id}"));
        self.blank();
    }

    /// `label` then `value` on the right; the value on a line of its own when both do not fit
    /// (cut only if it alone is wider than the paper).
    fn field(&mut self, label: &str, value: &str) {
        let value = printable(value);
        self.pair(label, &value, false);
    }

    /// `label`, then `text` wrapped over as many lines as it needs (a reason).
    fn wrapped(&mut self, label: &str, text: &str) {
        let text = printable(text);
        let text = text.trim();
        if label.width() + 1 + text.width() <= self.width {
            self.field(label, text);
            return;
        }
        self.push(label);
        let mut line = String::new();
        for word in text.split_whitespace() {
            for piece in chunks(word, self.width) {
                let fits = line.is_empty() || line.width() + 1 + piece.width() <= self.width;
                if !fits {
                    self.push(&line);
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&piece);
            }
        }
        if !line.is_empty() {
            self.push(&line);
        }
    }

    /// `label` and an amount on the right; the amount is never cut.
    fn amount(&mut self, label: &str, amount: Decimal) {
        self.pair(label, &money(amount), true);
    }

    fn pair(&mut self, label: &str, value: &str, whole: bool) {
        let label_len = label.width();
        let value_len = value.width();
        if label_len + 1 + value_len <= self.width {
            let pad = self.width - label_len - value_len;
            self.push(&format!("{label}{}{value}", " ".repeat(pad)));
        } else {
            self.push(&cut(label, self.width));
            let value = if whole {
                value.to_string()
            } else {
                cut(value, self.width)
            };
            let pad = self.width.saturating_sub(value.width());
            self.push(&format!("{}{value}", " ".repeat(pad)));
        }
    }

    /// The items: the name (cut to what is left) and the price on the right.
    fn lines(&mut self, lines: &[ReceiptLine]) {
        for line in lines {
            self.item(&line.name, line.unit_price);
        }
    }

    fn item(&mut self, name: &str, amount: Decimal) {
        let price = money(amount);
        let room = self.width.saturating_sub(price.width() + 1);
        let name = cut(&printable(name), room);
        let pad = self.width - name.width() - price.width();
        self.push(&format!("{name}{}{price}", " ".repeat(pad)));
    }

    fn finish(self) -> String {
        self.text
    }
}

/// `word` in pieces of at most `width` columns (a character wider than that is a piece alone).
fn chunks(word: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in word.chars() {
        if !piece.is_empty() && piece.width() + c.width().unwrap_or(0) > width {
            pieces.push(std::mem::take(&mut piece));
        }
        piece.push(c);
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// The longest start of `text` at most `width` columns wide.
fn first_columns(text: &str, width: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + c.width().unwrap_or(0) > width {
            break;
        }
        out.push(c);
    }
    out
}

/// `text` in at most `width` columns, ending in `...` when cut.
fn cut(text: &str, width: usize) -> String {
    let text = text.trim();
    if text.width() <= width {
        return text.to_string();
    }
    if width <= 3 {
        return first_columns(text, width);
    }
    let mut out = first_columns(text, width - 3);
    out.truncate(out.trim_end().len());
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn receipt() -> Receipt {
        Receipt {
            purchase_id: 3001,
            sale_key: Uuid::from_u128(7),
            supermarket_id: "SMKT001".into(),
            user_id: Uuid::parse_str("0195a3c4-0000-4000-8000-000000000001").unwrap(),
            new_customer: true,
            created_at: Utc.with_ymd_and_hms(2025, 3, 14, 12, 0, 5).unwrap(),
            lines: vec![
                ReceiptLine {
                    product_id: 1,
                    name: "Milk 1L".into(),
                    unit_price: Decimal::new(120, 2),
                },
                ReceiptLine {
                    product_id: 2,
                    name: "Organic wholegrain sourdough bread, sliced, family size".into(),
                    unit_price: Decimal::new(1234567, 2),
                },
            ],
            total_amount: Decimal::new(1235767, 2),
            replayed: false,
            till: Some("T03".into()),
            cashier: Some(7),
            receipt_no: Some(124),
            payment_method: Some(PaymentMethod::Cash),
            tendered: Some(Decimal::new(1240000, 2)),
            change_due: Some(Decimal::new(4233, 2)),
        }
    }

    #[test]
    fn a_sale_receipt_has_every_field_and_fits_the_paper() {
        for width in [42, 48] {
            let text = sale_receipt(
                &receipt(),
                "Downtown",
                Some("Ana"),
                Tz::Europe__Paris,
                width,
            );
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            for needed in [
                "Downtown",
                "Branch SMKT001",
                "T03-000124",
                "2025-03-14 13:00:05",
                "7 Ana",
                "0195a3c4-0000-4000-8000-000000000001",
                "Milk 1L",
                "12345.67",
                "12357.67",
                "Customer (new)",
            ] {
                assert!(
                    text.contains(needed),
                    "{width}: {needed} missing from\n{text}"
                );
            }
            let total = text.lines().find(|l| l.starts_with("TOTAL")).unwrap();
            assert_eq!(total.chars().count(), width, "{total:?}");
            assert!(total.ends_with("12357.67"));
        }
    }

    #[test]
    fn a_sale_receipt_at_42_columns() {
        let text = sale_receipt(&receipt(), "Downtown", Some("Ana"), Tz::Europe__Paris, 42);
        let expected = [
            "                 Downtown",
            "              Branch SMKT001",
            "",
            "Receipt                         T03-000124",
            "Time                   2025-03-14 13:00:05",
            "Till                                   T03",
            "Cashier                              7 Ana",
            "Customer (new)",
            "      0195a3c4-0000-4000-8000-000000000001",
            "------------------------------------------",
            "Milk 1L                               1.20",
            "Organic wholegrain sourdough b... 12345.67",
            "------------------------------------------",
            "TOTAL                             12357.67",
            "Cash                              12400.00",
            "Change                               42.33",
            "",
            "                Thank you",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
        assert!(text.ends_with("Thank you\n"));
    }

    #[test]
    fn control_characters_in_names_are_escaped_and_no_number_is_cut() {
        let mut r = receipt();
        r.lines[0].name = "Milk\x1b[2J".into();
        r.till = None;
        r.receipt_no = None;
        r.cashier = None;
        let text = sale_receipt(&r, "Down\ntown", None, Tz::UTC, 42);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.contains("Milk\\u{1b}[2J"), "{text}");
        assert!(text.contains("Down\\ntown"), "{text}");
        assert!(text.contains("purchase #3001"), "{text}");
        assert!(
            !text.contains("Cashier") && !text.contains("Till"),
            "{text}"
        );
    }

    #[test]
    fn cut_names_end_in_dots_within_the_width() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abc...");
        assert_eq!(cut("ab defg", 6), "ab...");
        assert_eq!(cut("abcdefg", 2), "ab");
    }

    #[test]
    fn a_card_sale_says_so_and_an_unknown_payment_prints_nothing() {
        let mut r = receipt();
        r.payment_method = Some(PaymentMethod::Card);
        r.tendered = None;
        r.change_due = None;
        let text = sale_receipt(&r, "Downtown", None, Tz::UTC, 48);
        assert!(text.contains("Paid by") && text.contains("card"), "{text}");
        assert!(!text.contains("Change"), "{text}");
        r.payment_method = None;
        let text = sale_receipt(&r, "Downtown", None, Tz::UTC, 48);
        assert!(
            !text.contains("Paid by") && !text.contains("\nCash "),
            "{text}"
        );
    }

    #[test]
    fn void_and_refund_slips_name_the_sale_the_manager_the_reason_and_the_amount() {
        let original = receipt();
        let at = Utc.with_ymd_and_hms(2025, 3, 14, 12, 30, 0).unwrap();
        let void = VoidRecord {
            purchase_id: 3001,
            voided_at: at,
            till: "T03".into(),
            cashier: Some(7),
            manager: 2,
            reason: "rang up twice by mistake, the customer paid once only; \
                     a-very-long-word-that-does-not-fit-on-one-line-of-paper"
                .into(),
            amount: original.total_amount,
            replayed: false,
        };
        let refund = RefundRecord {
            refund_id: 9,
            purchase_id: 3001,
            refunded_at: at,
            till: "T03".into(),
            cashier: None,
            manager: 2,
            reason: "sour".into(),
            amount: Decimal::new(120, 2),
            lines: vec![original.lines[0].clone()],
            payment_method: Some(PaymentMethod::Cash),
            replayed: false,
        };
        for width in [42, 48] {
            let v = void_slip(&void, &original, "Downtown", Tz::Europe__Paris, width);
            let r = refund_slip(&refund, &original, "Downtown", Tz::Europe__Paris, width);
            for text in [&v, &r] {
                for line in text.lines() {
                    assert!(line.chars().count() <= width, "{width}: {line:?}");
                }
                assert!(
                    text.contains("T03-000124") && text.contains("13:30:00"),
                    "{text}"
                );
                assert!(text.contains("Manager") && text.contains("cash"), "{text}");
            }
            assert!(v.contains("*** VOID ***") && v.contains("12357.67"), "{v}");
            assert!(
                v.contains("by mistake") && v.contains("a-very-long-word"),
                "{v}"
            );
            // A reason is wrapped, never cut: every character of it is there, in order.
            let squeezed = |t: &str| t.split_whitespace().collect::<String>();
            assert!(squeezed(&v).contains(&squeezed(&void.reason)), "{v}");
            assert!(r.contains("*** REFUND ***") && r.contains("#9"), "{r}");
            let refunded = r.lines().find(|l| l.starts_with("REFUNDED")).unwrap();
            assert!(refunded.ends_with("1.20"), "{r}");
            assert!(!r.contains("sourdough"), "only the refunded lines: {r}");
        }
    }

    #[test]
    fn a_shift_report_has_every_figure() {
        let opened = Utc.with_ymd_and_hms(2025, 3, 14, 7, 0, 0).unwrap();
        let mut report = ShiftReport::empty("T03", opened);
        report.shift_id = 4;
        report.sales = 12;
        report.revenue = Decimal::new(14520, 2);
        report.by_method = vec![
            (Some(PaymentMethod::Cash), 8, Decimal::new(10000, 2)),
            (Some(PaymentMethod::Card), 3, Decimal::new(4000, 2)),
            (None, 1, Decimal::new(520, 2)),
        ];
        report.cash_expected = Decimal::new(9280, 2);
        report.voids = 1;
        report.voided = Decimal::new(600, 2);
        report.refunds = 1;
        report.refunded = Decimal::new(120, 2);
        report.net = Decimal::new(13800, 2);
        report.first_receipt_no = Some(1);
        report.last_receipt_no = Some(13);
        report.first_sale_at = Some(opened);
        let text = shift_report_text(&report, Tz::UTC, 42);
        for needed in [
            "X REPORT",
            "#4",
            "145.20",
            "cash (8)",
            "card (3)",
            "not recorded (1)",
            "92.80",
            "Voids (1)",
            "Refunds (1)",
            "Revenue (gross)",
            "Net (less voids, refunds)",
            "138.00",
            "T03-000001",
            "T03-000013",
            "2025-03-14 07:00:00",
        ] {
            assert!(text.contains(needed), "{needed} missing from\n{text}");
        }
        for line in text.lines() {
            assert!(line.chars().count() <= 42, "{line:?}");
        }
        report.closed_at = Some(opened + chrono::Duration::hours(8));
        report.closed_by = Some(2);
        let text = shift_report_text(&report, Tz::UTC, 48);
        assert!(
            text.contains("Z REPORT") && text.contains("15:00:00"),
            "{text}"
        );
    }

    #[test]
    fn wide_characters_take_their_columns_on_paper() {
        let mut paper = Paper::new(24);
        paper.item("牛乳とパンとコーヒーと卵のセット", Decimal::new(1250, 2));
        paper.centre("東京駅前店");
        for line in paper.finish().lines() {
            assert!(line.width() <= 24, "{line:?}");
        }
        assert_eq!(cut("牛乳牛乳牛乳", 7), "牛乳...");
        assert_eq!(chunks("牛乳牛", 4), ["牛乳", "牛"]);
    }
}
