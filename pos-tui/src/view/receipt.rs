//! The receipt of a recorded sale, and the slip of a sale saved offline.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use rust_decimal::Decimal;
use store_core::domain::checkout::{PaymentMethod, Receipt, ReceiptLine, receipt_number};
use store_core::domain::input::printable;

use super::theme::Theme;
use super::{money, sale, total, widest};
use crate::app::{QueuedSale, State, Tender, UndoDone, Undone, cashier_label, receipt_label};
use tui_runtime::text::ellipsis;

const TIME: &str = "%Y-%m-%d %H:%M:%S";

fn branch_label(state: &State, id: &str) -> String {
    match state.name_of_branch(id) {
        Some(name) => format!("{} · {}", printable(id), printable(name)),
        None => printable(id).into_owned(),
    }
}

/// Cashier `number` with the name the roster gives it.
fn cashier_of(state: &State, number: i32) -> String {
    state
        .credential(number)
        .map_or_else(|| number.to_string(), |c| cashier_label(&c.cashier))
}

/// The till and the cashier, on one line of a slip (none when the sale has neither).
fn till_fields(
    state: &State,
    till: Option<&str>,
    cashier: Option<i32>,
) -> Option<(&'static str, String)> {
    let cashier = cashier.map(|number| format!("cashier {}", cashier_of(state, number)));
    match (till.map(printable), cashier) {
        (Some(till), Some(cashier)) => Some(("Till", format!("{till} · {cashier}"))),
        (Some(till), None) => Some(("Till", till.into_owned())),
        (None, Some(cashier)) => Some(("Cashier", cashier)),
        (None, None) => None,
    }
}

pub fn render_receipt(
    state: &State,
    receipt: &Receipt,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let customer = format!(
        "{}{}",
        receipt.user_id,
        if receipt.new_customer { " (new)" } else { "" }
    );
    let number = receipt.receipt_number().map(|n| printable(&n).into_owned());
    let mut fields = Vec::new();
    if let Some(number) = &number {
        fields.push(("Receipt", number.clone()));
    }
    fields.extend([
        ("Purchase", format!("#{}", receipt.purchase_id)),
        (
            "Time",
            state.local(receipt.created_at).format(TIME).to_string(),
        ),
        ("Branch", branch_label(state, &receipt.supermarket_id)),
    ]);
    fields.extend(till_fields(state, receipt.till.as_deref(), receipt.cashier));
    fields.extend([
        ("Customer", customer),
        ("Sale key", receipt.sale_key.to_string()),
    ]);
    let change = state.change_due();
    if let Some(paid) = paid_text(state.last_tender, change) {
        // The receipt and purchase numbers name the sale: the sale key's line (it is in the
        // log and the database) makes room for the payment's.
        if number.is_some() {
            fields.retain(|(name, _)| *name != "Sale key");
        }
        fields.push(("Paid", paid));
    }
    let title = match &number {
        Some(number) => format!(" RECEIPT {number} · purchase #{} ", receipt.purchase_id),
        None => format!(" RECEIPT · purchase #{} ", receipt.purchase_id),
    };
    let block = Block::bordered().title(title);
    render_slip(
        block,
        Slip {
            notice: None,
            fields,
            lines: &receipt.lines,
            total: receipt.total_amount,
            change,
            foot: foot(state),
        },
        theme,
        frame,
        area,
    );
}

/// How the sale was paid, in words: `cash 10.50, change 4.00`, `card`.
fn paid_text(tender: Option<Tender>, change: Option<Decimal>) -> Option<String> {
    Some(match tender? {
        Tender::Card => "card".to_string(),
        Tender::Cash(tendered) => {
            let change = change.unwrap_or_default();
            match tendered {
                Some(cash) => format!("cash {}, change {}", money(cash), money(change)),
                None => "cash, the exact amount".to_string(),
            }
        }
    })
}

/// The slip of a void or refund the database wrote: what was given back, and why.
pub fn render_undone(
    state: &State,
    undone: &UndoDone,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let original = &undone.original;
    let sale = receipt_label(original);
    let (title, at, manager, reason, amount, lines, method, notice) = match &undone.done {
        Undone::Void(v) => (
            format!(" VOID · sale {sale} "),
            v.voided_at,
            v.manager,
            &v.reason,
            v.amount,
            &original.lines,
            original.payment_method,
            if v.replayed {
                "This sale had been voided already: the slip is that void's."
            } else {
                "Sale voided: it counts nowhere now. Give the money back."
            },
        ),
        Undone::Refund(r) => (
            format!(" REFUND #{} · sale {sale} ", r.refund_id),
            r.refunded_at,
            r.manager,
            &r.reason,
            r.amount,
            &r.lines,
            r.payment_method,
            if r.replayed {
                "This refund had been made already: the slip is that refund's."
            } else {
                "Refund made. Give the money back."
            },
        ),
    };
    let mut fields = vec![
        ("Sale", sale.clone()),
        (
            "Sold",
            state.local(original.created_at).format(TIME).to_string(),
        ),
        ("Undone", state.local(at).format(TIME).to_string()),
        ("Manager", cashier_of(state, manager)),
        ("Reason", printable(reason).into_owned()),
    ];
    if let Some(method) = method {
        fields.push(("Paid back", format!("{method}")));
    }
    let block = Block::bordered()
        .title(title)
        .border_style(theme.fg(Color::Magenta));
    render_slip(
        block,
        Slip {
            notice: Some(notice),
            fields,
            lines,
            total: -amount,
            change: None,
            foot: foot(state),
        },
        theme,
        frame,
        area,
    );
}

/// A sale saved offline: what the customer bought and paid, and that it will be sent.
pub fn render_queued(
    state: &State,
    queued: &QueuedSale,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let sale = &queued.sale;
    let time = match sale.sold_at {
        Some(at) => state.local(at).format(TIME).to_string(),
        None => state.now.format(TIME).to_string(),
    };
    let customer = format!(
        "{}{}",
        sale.customer.user_id(),
        if sale.customer.is_new() {
            " (new)"
        } else {
            " (returning)"
        }
    );
    let mut fields = Vec::new();
    if let (Some(till), Some(number)) = (&sale.till, sale.receipt_no) {
        fields.push((
            "Receipt",
            printable(&receipt_number(till, number)).into_owned(),
        ));
    }
    fields.extend([
        ("Time", time),
        ("Branch", branch_label(state, &sale.supermarket_id)),
    ]);
    fields.extend(till_fields(state, sale.till.as_deref(), sale.cashier));
    fields.extend([
        ("Customer", customer),
        ("Sale key", sale.sale_key.to_string()),
    ]);
    // The journal keeps the payment with the sale: the change is the till's to give now.
    let tender = sale.payment.as_ref().map(|p| match p.method {
        PaymentMethod::Card => Tender::Card,
        PaymentMethod::Cash => Tender::Cash(p.tendered),
    });
    let change = match tender {
        Some(Tender::Cash(Some(cash))) => Some(cash - queued.total),
        Some(Tender::Cash(None)) => Some(Decimal::ZERO),
        _ => None,
    };
    if let Some(paid) = paid_text(tender, change) {
        fields.push(("Paid", paid));
    }
    let block = Block::bordered()
        .title(" SAVED OFFLINE · queued, not yet in the database ")
        .border_style(theme.fg(Color::Yellow));
    render_slip(
        block,
        Slip {
            notice: Some("Sale saved and queued. Offline: will be sent when the database is back."),
            fields,
            lines: &queued.lines,
            total: queued.total,
            change,
            foot: foot(state),
        },
        theme,
        frame,
        area,
    );
}

struct Slip<'a> {
    /// A line above the fields, in bold.
    notice: Option<&'static str>,
    fields: Vec<(&'static str, String)>,
    lines: &'a [ReceiptLine],
    total: Decimal,
    /// The change due (cash), shown large under the total when there is room.
    change: Option<Decimal>,
    /// What the keys do now (`foot`).
    foot: &'static str,
}

/// The slip's last line: the next sale, quitting, and signing out when there are cashiers.
fn foot(state: &State) -> &'static str {
    if state.roster.is_empty() {
        " Press any key for the next sale (q quits)"
    } else {
        " Press any key for the next sale (q quits, L signs out)"
    }
}

/// Fields left out first when the slip is too short for all of them and the total.
const LEAST_NEEDED: [&str; 4] = ["Till", "Sale key", "Purchase", "Customer"];

fn render_slip(block: Block, mut slip: Slip, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The total and the last line always have their rows.
    let room = usize::from(inner.height.saturating_sub(2));
    for name in LEAST_NEEDED {
        if slip.fields.len() + usize::from(slip.notice.is_some()) <= room {
            break;
        }
        slip.fields.retain(|(field, _)| *field != name);
    }
    let head_height = slip.fields.len() as u16 + u16::from(slip.notice.is_some());
    let [fields, lines_area, foot] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut head: Vec<Line> = Vec::new();
    if let Some(notice) = slip.notice {
        head.push(Line::styled(format!(" {notice}"), theme.total()));
    }
    // The field names go first on a narrow terminal; a value that still does not fit is cut
    // with an ellipsis.
    let width = usize::from(fields.width);
    let label_width = if width >= 11 + 36 + 6 { 11 } else { 0 };
    for (name, value) in slip.fields {
        let value = ellipsis(&value, width.saturating_sub(label_width)).into_owned();
        let label = if label_width > 0 {
            format!(" {name:<10}")
        } else {
            String::new()
        };
        head.push(Line::from(vec![
            Span::styled(label, theme.dim()),
            Span::raw(value),
        ]));
    }
    frame.render_widget(Paragraph::new(head), fields);
    let [items, total_area] = if lines_area.width >= 64 {
        Layout::horizontal([
            Constraint::Min(30),
            Constraint::Length(sale::side_width(lines_area.width)),
        ])
        .areas(lines_area)
    } else {
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(lines_area)
    };
    render_items(slip.lines, frame, items);
    // Below the blank line that starts the items, when there is room.
    let total_area = if total_area.height >= 6 {
        Rect {
            y: total_area.y + 1,
            height: total::box_height(total_area.height - 1).min(total_area.height - 1),
            ..total_area
        }
    } else {
        total_area
    };
    // Cash with change: the change is what the cashier reads now, large; the total goes on
    // one line above it.
    let change_rows = super::payment::CHANGE_HEIGHT;
    let total_area = match slip.change.filter(|c| !c.is_zero()) {
        Some(change)
            if lines_area.width >= 64
                && total_area.y + 1 + change_rows <= lines_area.y + lines_area.height =>
        {
            let below = Rect {
                y: total_area.y + 1,
                height: change_rows,
                ..total_area
            };
            super::payment::render_change(change, theme, frame, below);
            Rect {
                height: 1,
                ..total_area
            }
        }
        _ => total_area,
    };
    total::render(slip.total, theme, frame, total_area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            ellipsis(slip.foot, foot.width.into()).into_owned(),
            theme.bold(),
        )),
        foot,
    );
}

fn render_items(lines: &[ReceiptLine], frame: &mut Frame, area: Rect) {
    let numbers: Vec<String> = (1..=lines.len()).map(|n| format!("{n}.")).collect();
    let codes: Vec<String> = lines.iter().map(|l| l.product_id.to_string()).collect();
    let prices: Vec<String> = lines
        .iter()
        .map(|l| format!("{} ", money(l.unit_price)))
        .collect();
    let number_width = widest(numbers.iter().map(String::as_str), 3) as u16;
    let code_width = widest(codes.iter().map(String::as_str), 4) as u16;
    let price_width = widest(prices.iter().map(String::as_str), 5) as u16;
    let show_code = area.width >= 1 + number_width + 2 + code_width + 2 + 8 + 2 + price_width;
    let fixed = 1 + number_width + 2 + price_width + 2 + if show_code { code_width + 2 } else { 0 };
    let name_width = usize::from(area.width.saturating_sub(fixed));
    let rows = lines.iter().enumerate().map(|(i, line)| {
        let mut cells = vec![Cell::from(Line::from(numbers[i].as_str()).right_aligned())];
        if show_code {
            cells.push(Cell::from(Line::from(codes[i].as_str()).right_aligned()));
        }
        cells.push(Cell::from(
            ellipsis(&printable(&line.name), name_width).into_owned(),
        ));
        cells.push(Cell::from(Line::from(prices[i].as_str()).right_aligned()));
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Length(1 + number_width)];
    if show_code {
        widths.push(Constraint::Length(code_width));
    }
    widths.extend([Constraint::Fill(1), Constraint::Length(price_width)]);
    let [_, table_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    // A receipt longer than the room says how many lines are not shown.
    let room = usize::from(table_area.height);
    let hidden = lines.len().saturating_sub(room);
    let shown = if hidden > 0 {
        room.saturating_sub(1)
    } else {
        lines.len()
    };
    let [table_area, more_area] = Layout::vertical([
        Constraint::Length(shown as u16),
        Constraint::Length(u16::from(hidden > 0)),
    ])
    .areas(table_area);
    frame.render_widget(
        Table::new(rows.take(shown), widths).column_spacing(2),
        table_area,
    );
    if hidden > 0 {
        let more = format!(" … and {} more line(s)", lines.len() - shown);
        frame.render_widget(
            Paragraph::new(ellipsis(&more, area.width.into()).into_owned()),
            more_area,
        );
    }
}
