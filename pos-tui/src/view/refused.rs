//! The queued sales the checkout refused, with the reasons: kept in the journal, never
//! dropped silently; the selected one can be resent or set aside (with a typed reason).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{HighlightSpacing, List, ListItem, ListState, Paragraph, Wrap};
use store_core::domain::input::printable;
use store_core::till::journal::RefusedSale;

use super::popup;
use super::theme::Theme;
use crate::app::{SetAsideDraft, State};
use tui_runtime::text::ellipsis;

/// From this width on, a sale takes three lines; below, five.
const WIDE: usize = 76;

fn item<'a>(state: &State, refused: &RefusedSale, width: usize, theme: &Theme) -> ListItem<'a> {
    let sale = &refused.sale;
    let time = sale
        .sold_at
        .map(|at| state.local(at).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into());
    let branch = printable(&sale.supermarket_id);
    let products: Vec<String> = sale.product_ids.iter().map(i32::to_string).collect();
    let customer = format!(
        "customer {}{}",
        sale.customer.user_id(),
        if sale.customer.is_new() { " (new)" } else { "" }
    );
    let products = format!("products {}", products.join(","));
    let key = format!("sale key {}", sale.sale_key);
    let texts: Vec<String> = if width >= WIDE {
        vec![
            format!("{time}  {branch}  {key}"),
            format!("  {customer}  {products}"),
        ]
    } else {
        vec![
            format!("{time}  {branch}"),
            format!("  {key}"),
            format!("  {customer}"),
            format!("  {products}"),
        ]
    };
    let mut lines: Vec<Line> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let text = ellipsis(&text, width).into_owned();
            if i == 0 {
                Line::styled(text, theme.bold())
            } else {
                Line::raw(text)
            }
        })
        .collect();
    let label = "  reason: ";
    lines.push(Line::from(vec![
        Span::styled(label, theme.dim()),
        Span::raw(
            ellipsis(
                &printable(&refused.reason),
                width.saturating_sub(label.len()),
            )
            .into_owned(),
        ),
    ]));
    ListItem::new(Text::from(lines))
}

pub fn render(
    state: &State,
    selected: usize,
    set_aside: Option<&SetAsideDraft>,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let total = state.refused_sales.len();
    let inner = popup(
        frame,
        area,
        80,
        area.height,
        format!(" Refused queued sales: {total} (Esc closes) "),
    );
    let width = usize::from(inner.width);
    let warning = state
        .journal_warning
        .as_ref()
        .map(|warning| Line::styled(format!(" ⚠ {warning}"), theme.error()));
    let explanation = [
        Line::styled(
            " Refused by the checkout when the till sent them (the customer has paid).",
            theme.error(),
        ),
        Line::raw(" r sends one again once the cause is fixed; a sets it aside, saying why."),
        Line::default(),
    ];
    let per_sale = if width.saturating_sub(1) >= WIDE {
        3
    } else {
        5
    };
    let prompt_rows = if set_aside.is_some() { 2 } else { 0 };
    // Rows lines take once wrapped.
    let rows_of = |lines: &[Line]| -> usize {
        lines
            .iter()
            .map(|l| l.width().max(1).div_ceil(width.max(1)))
            .sum()
    };
    let mut head: Vec<Line> = warning.into_iter().collect();
    // On a short terminal the explanation goes, so that a sale (and its count line) is
    // always shown.
    let count_row = 1;
    if rows_of(&head) + rows_of(&explanation) + prompt_rows + per_sale + count_row
        <= usize::from(inner.height)
    {
        head.extend(explanation);
    }
    let head_rows = rows_of(&head);
    let room = usize::from(inner.height).saturating_sub(head_rows + prompt_rows);
    let all_fit = total * per_sale <= room;
    let [head_area, list_area, count_area, prompt_area] = Layout::vertical([
        Constraint::Length(head_rows as u16),
        Constraint::Min(0),
        Constraint::Length(u16::from(!all_fit)),
        Constraint::Length(prompt_rows as u16),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), head_area);
    let items: Vec<ListItem> = state
        .refused_sales
        .iter()
        .map(|refused| item(state, refused, width.saturating_sub(1), theme))
        .collect();
    let list = List::new(items)
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(theme.selected());
    let mut list_state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, list_area, &mut list_state);
    if !all_fit {
        let first = list_state.offset();
        let shown = (usize::from(list_area.height) / per_sale).max(1);
        let last = (first + shown).min(total);
        frame.render_widget(
            Paragraph::new(Line::styled(
                ellipsis(
                    &format!(" sales {}-{last} of {total} (↑↓ for the others)", first + 1),
                    width,
                )
                .into_owned(),
                theme.dim(),
            )),
            count_area,
        );
    }
    if let Some(draft) = set_aside {
        let prompt = vec![
            Line::styled(
                " Set the selected sale aside: why is it not sent?",
                theme.bold(),
            ),
            Line::from(vec![
                Span::raw(" > "),
                Span::raw(draft.reason.clone()),
                Span::styled("▏", theme.fg(Color::Cyan)),
            ]),
        ];
        frame.render_widget(Paragraph::new(prompt).style(Style::new()), prompt_area);
    }
}
