//! The product search (by name) and the customer search (by the start of the id, or offline
//! among the customers this till has seen): popups over the sale.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Cell, HighlightSpacing, List, ListState, Paragraph, Row, Table, TableState,
};
use store_core::domain::input::printable;

use super::theme::Theme;
use super::{money, popup, widest};
use crate::app::{Input, State};
use tui_runtime::text::ellipsis;

fn query_line<'a>(label: &'a str, query: &'a str, theme: &Theme, after: &'a str) -> Line<'a> {
    Line::from(vec![
        Span::styled(label, theme.bold()),
        Span::raw(query),
        Span::styled("▏", theme.fg(Color::Cyan)),
        Span::styled(after, theme.dim()),
    ])
}

fn height(rows: usize, around: u16) -> u16 {
    u16::try_from(rows.max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(around)
}

pub fn render_products(
    state: &State,
    query: &str,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let matches = state.product_matches(query);
    let inner = popup(
        frame,
        area,
        44,
        height(matches.len(), 4),
        " Find a product by name ".into(),
    );
    let [head, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Paragraph::new(query_line(" Name: ", query, theme, "")),
        head,
    );
    if matches.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(" no product matches", theme.dim())),
            list,
        );
        return;
    }
    let ids: Vec<String> = matches.iter().map(|p| p.id.to_string()).collect();
    let prices: Vec<String> = matches
        .iter()
        .map(|p| format!("{} ", money(p.unit_price)))
        .collect();
    let id_width = widest(ids.iter().map(String::as_str), 2) as u16;
    let price_width = widest(prices.iter().map(String::as_str), 5) as u16;
    let name_width = usize::from(
        list.width
            .saturating_sub(1 + id_width + 2 + price_width + 1),
    );
    let rows = matches
        .iter()
        .zip(&ids)
        .zip(&prices)
        .map(|((product, id), price)| {
            Row::new([
                Cell::from(Line::from(id.as_str()).right_aligned()),
                Cell::from(ellipsis(&printable(&product.name), name_width).into_owned()),
                Cell::from(Line::from(price.as_str()).right_aligned()),
            ])
        });
    let table = Table::new(
        rows,
        [
            Constraint::Length(id_width),
            Constraint::Fill(1),
            Constraint::Length(price_width),
        ],
    )
    .column_spacing(1)
    .highlight_symbol("▶")
    .highlight_spacing(HighlightSpacing::Always)
    .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, list, &mut table_state);
}

pub fn render_customers(
    state: &State,
    input: &Input,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let Input::CustomerSearch {
        query,
        selected,
        results,
        searching,
        offline,
        ..
    } = input
    else {
        return;
    };
    if *offline {
        render_offline(state, query, *selected, theme, frame, area);
        return;
    }
    let inner = popup(
        frame,
        area,
        70,
        height(results.len(), 5),
        " Find a returning customer ".into(),
    );
    let [head, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let after = if *searching { "  searching…" } else { "" };
    frame.render_widget(
        Paragraph::new(query_line(
            " Customer id starts with: ",
            query,
            theme,
            after,
        )),
        head,
    );
    if results.is_empty() {
        let hint = if query.is_empty() {
            " type the first characters of the customer's id"
        } else {
            " no customer found yet"
        };
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), list);
        return;
    }
    let purchases: Vec<String> = results.iter().map(|c| c.purchases.to_string()).collect();
    let purchases_width = widest(purchases.iter().map(String::as_str), 9) as u16;
    // Dropped first on a narrow terminal: the date, then the purchases; a cut id ends in "…".
    let show_last = list.width >= 1 + 36 + 1 + purchases_width + 2 + 10;
    let show_purchases = list.width >= 1 + 36 + 1 + purchases_width;
    let id_width = list.width.saturating_sub(
        1 + if show_purchases {
            purchases_width + 1
        } else {
            0
        } + if show_last { 12 } else { 0 },
    );
    let mut widths = vec![Constraint::Length(id_width.min(37))];
    let mut header = vec![Cell::from("customer id")];
    if show_purchases {
        widths.push(Constraint::Length(purchases_width));
        header.push(Cell::from(Line::from("purchases").right_aligned()));
    }
    if show_last {
        widths.push(Constraint::Length(10));
        header.push(Cell::from("last"));
    }
    let rows = results.iter().zip(&purchases).map(|(customer, count)| {
        let mut cells = vec![Cell::from(
            ellipsis(&customer.user_id.to_string(), usize::from(id_width)).into_owned(),
        )];
        if show_purchases {
            cells.push(Cell::from(Line::from(count.as_str()).right_aligned()));
        }
        if show_last {
            let last = state.local(customer.last_purchase_at);
            cells.push(Cell::from(last.format("%Y-%m-%d").to_string()));
        }
        Row::new(cells)
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.dim()))
        .column_spacing(1)
        .flex(ratatui::layout::Flex::Start)
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(*selected));
    frame.render_stateful_widget(table, list, &mut table_state);
}

/// Offline: no search, but the customers the database confirmed to this till this session.
fn render_offline(
    state: &State,
    query: &str,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let matches = state.vouched_matches(query);
    let inner = popup(
        frame,
        area,
        70,
        height(matches.len(), 6),
        " Returning customer · OFFLINE ".into(),
    );
    let [head, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Paragraph::new(vec![
            query_line(" Customer id starts with: ", query, theme, ""),
            Line::styled(
                " Search unavailable offline. Customers this till has seen:",
                theme.error(),
            ),
        ]),
        head,
    );
    if matches.is_empty() {
        let hint = if state.vouched.is_empty() {
            " none yet this session: Esc, then n for a new customer"
        } else {
            " none of them starts with that: Esc, then n for a new customer"
        };
        frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), list);
        return;
    }
    let width = usize::from(list.width.saturating_sub(1));
    let items: Vec<String> = matches
        .iter()
        .map(|id| ellipsis(&id.to_string(), width).into_owned())
        .collect();
    let list_widget = List::new(items)
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .highlight_style(theme.selected());
    let mut list_state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list_widget, list, &mut list_state);
}
