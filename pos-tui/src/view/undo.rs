//! A void or refund being prepared (the sale, its lines, the reason, the manager), and the shift
//! report over the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use store_core::domain::checkout::receipt_number;
use store_core::domain::input::printable;
use store_core::domain::shift::ShiftReport;
use tui_runtime::text::ellipsis;

use super::theme::Theme;
use super::{money, popup};
use crate::app::{State, Undo, UndoKind, UndoStep, receipt_label};

const TIME: &str = "%Y-%m-%d %H:%M";

pub fn render(state: &State, undo: &Undo, theme: &Theme, frame: &mut Frame, area: Rect) {
    let sale = undo.sold.as_deref().map(|s| receipt_label(&s.receipt));
    let title = match (undo.kind, &sale) {
        (UndoKind::Void, Some(sale)) => format!(" VOID · sale {sale} "),
        (UndoKind::Refund, Some(sale)) => format!(" REFUND · sale {sale} "),
        (UndoKind::Void, None) => " VOID ".into(),
        (UndoKind::Refund, None) => " REFUND ".into(),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme.fg(Color::Magenta));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [head, lines_area, form] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(5),
    ])
    .areas(inner);
    let cursor = Span::styled("▏", theme.fg(Color::Cyan));
    if let UndoStep::ReceiptNumber(typed) | UndoStep::Looking { typed, .. } = &undo.step {
        let mut lines = vec![Line::from(vec![
            Span::styled(" Receipt number: ", theme.bold()),
            Span::raw(printable(typed).into_owned()),
            cursor,
        ])];
        lines.push(Line::styled(
            if matches!(undo.step, UndoStep::Looking { .. }) {
                " Looking for the sale…".to_string()
            } else {
                format!(
                    " Type or scan it as printed ({}), then Enter",
                    receipt_number(&state.till, 12)
                )
            },
            theme.dim(),
        ));
        frame.render_widget(Paragraph::new(lines), head);
        return;
    }
    let Some(sold) = undo.sold.as_deref() else {
        return;
    };
    let receipt = &sold.receipt;
    let when = state.local(receipt.created_at).format(TIME).to_string();
    let paid = receipt
        .payment_method
        .map_or_else(String::new, |m| format!(" · paid by {m}"));
    frame.render_widget(
        Paragraph::new(vec![Line::raw(format!(
            " Sold {when} · total {}{paid}",
            money(receipt.total_amount)
        ))]),
        head,
    );
    // The sale's lines: a refund marks those chosen and those refunded before.
    let refundable: Vec<i32> = undo.refundable().iter().map(|l| l.product_id).collect();
    let name_width = usize::from(lines_area.width.saturating_sub(24));
    let rows: Vec<Row> = receipt
        .lines
        .iter()
        .map(|line| {
            let mark = match undo.kind {
                UndoKind::Void => "   ".to_string(),
                UndoKind::Refund if !refundable.contains(&line.product_id) => "(r)".into(),
                UndoKind::Refund if undo.chosen.contains(&line.product_id) => "[x]".into(),
                UndoKind::Refund => "[ ]".into(),
            };
            Row::new(vec![
                Cell::from(format!(" {mark}")),
                Cell::from(Line::from(line.product_id.to_string()).right_aligned()),
                Cell::from(ellipsis(&printable(&line.name), name_width).into_owned()),
                Cell::from(Line::from(format!("{} ", money(line.unit_price))).right_aligned()),
            ])
        })
        .collect();
    let selected = (undo.kind == UndoKind::Refund && undo.step == UndoStep::Lines)
        .then(|| refundable.get(undo.cursor))
        .flatten()
        .and_then(|id| receipt.lines.iter().position(|l| l.product_id == *id));
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Fill(1),
            Constraint::Length(12),
        ],
    )
    .column_spacing(1)
    .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, lines_area, &mut table_state);

    let amount = match undo.kind {
        UndoKind::Void => format!(" Voided: {} (the whole sale)", money(undo.amount())),
        UndoKind::Refund => format!(
            " Refund: {} ({} line(s); (r): refunded before)",
            money(undo.amount()),
            undo.chosen.len()
        ),
    };
    let mut lines = vec![Line::styled(amount, theme.total())];
    let reason = Line::from(vec![
        Span::styled(" Reason:  ", theme.bold()),
        Span::raw(printable(&undo.reason).into_owned()),
    ]);
    match &undo.step {
        UndoStep::Lines => lines.push(Line::styled(
            " Space gives a line back (a: all), Enter when done",
            theme.dim(),
        )),
        UndoStep::Reason => {
            let mut reason = reason;
            reason.push_span(cursor);
            lines.push(reason);
        }
        UndoStep::ManagerNumber(number) => {
            lines.push(reason);
            lines.push(Line::from(vec![
                Span::styled(" Manager: ", theme.bold()),
                Span::raw(number.clone()),
                cursor,
            ]));
        }
        UndoStep::ManagerPin { manager, pin } => {
            lines.push(reason);
            lines.push(Line::from(vec![
                Span::styled(format!(" Manager {} · PIN: ", manager.number), theme.bold()),
                Span::raw("*".repeat(pin.len())),
                cursor,
            ]));
        }
        UndoStep::Sending { manager } => {
            lines.push(reason);
            lines.push(Line::styled(
                format!(
                    " Manager {}: the database checks the PIN and writes it…",
                    manager.number
                ),
                theme.total(),
            ));
        }
        UndoStep::ReceiptNumber(_) | UndoStep::Looking { .. } => {}
    }
    lines.push(if undo.maybe_recorded {
        Line::styled(
            " It may have been recorded: sending it again is harmless; Esc leaves it",
            theme.error(),
        )
    } else {
        Line::styled(" Esc cancels: nothing is changed", theme.dim())
    });
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), form);
}

/// The shift report (X running, Z closed) over the screen.
pub fn render_report(
    state: &State,
    report: &ShiftReport,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let title = if report.is_closed() {
        format!(
            " Z REPORT · till {} · shift closed ",
            printable(&report.till)
        )
    } else {
        format!(
            " X REPORT · till {} · running shift ",
            printable(&report.till)
        )
    };
    let height = (13 + report.by_method.len() as u16 + u16::from(report.closed_by.is_some()))
        .min(area.height);
    let inner = popup(frame, area, area.width.min(64), height, title);
    frame.render_widget(Clear, inner);
    let time = |t: chrono::DateTime<chrono::Utc>| state.local(t).format(TIME).to_string();
    let mut span = time(report.opened_at);
    if let Some(closed) = report.closed_at {
        span.push_str(&format!(" to {}", time(closed)));
    }
    let number = |n: Option<i64>| n.map_or_else(|| "-".into(), |n| receipt_number(&report.till, n));
    let mut rows = vec![("Shift", span)];
    if let Some(by) = report.closed_by {
        rows.push(("Closed by", format!("cashier {by}")));
    }
    rows.push((
        "Sales",
        format!("{} · gross {}", report.sales, money(report.revenue)),
    ));
    for (method, count, amount) in &report.by_method {
        let name = method.map_or("not recorded", |m| m.as_str());
        rows.push(("", format!("{name}: {count} · {}", money(*amount))));
    }
    rows.extend([
        (
            "Cash in drawer",
            format!("{} expected", money(report.cash_expected)),
        ),
        (
            "Voids",
            format!("{} · {}", report.voids, money(report.voided)),
        ),
        (
            "Refunds",
            format!("{} · {}", report.refunds, money(report.refunded)),
        ),
        (
            "Net",
            format!("{} (gross less voids and refunds)", money(report.net)),
        ),
        (
            "Receipts",
            format!(
                "{} to {}",
                number(report.first_receipt_no),
                number(report.last_receipt_no)
            ),
        ),
        (
            "Sales from",
            match (report.first_sale_at, report.last_sale_at) {
                (Some(first), Some(last)) => format!("{} to {}", time(first), time(last)),
                _ => "-".into(),
            },
        ),
    ]);
    let mut lines: Vec<Line> = rows
        .into_iter()
        .map(|(name, value)| {
            Line::from(vec![
                Span::styled(format!(" {name:<15}"), theme.dim()),
                Span::raw(value),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(
        " p prints it   other keys close",
        theme.bold(),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}
