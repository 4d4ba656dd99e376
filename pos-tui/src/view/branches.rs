//! Start of shift: the branch list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};
use store_core::domain::input::printable;

use super::theme::Theme;
use super::widest;
use crate::app::{BranchChoice, DbState, State};
use tui_runtime::text::ellipsis;

pub fn render(state: &State, choice: &BranchChoice, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Start of shift: choose the branch ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(catalog) = &state.catalog else {
        let lines = match &state.db {
            DbState::Reconnecting(reason) => vec![
                Line::default(),
                Line::styled(
                    "  Waiting for the database; retrying in the background…",
                    theme.error(),
                ),
                Line::default(),
                Line::styled(format!("  {reason}"), theme.dim()),
            ],
            _ => vec![Line::default(), Line::raw("  Loading the catalog…")],
        };
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    };
    if catalog.branches.is_empty() {
        let lines = vec![
            Line::default(),
            Line::styled("  There is no branch yet.", theme.error()),
            Line::default(),
            Line::raw("  Add one on the database, then it appears here:"),
            Line::styled("    store-core branch add ID --name NAME", theme.bold()),
            Line::styled(
                "  (e.g. store-core branch add SMKT001 --name \"Harbour Road\")",
                theme.dim(),
            ),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    }
    let [_, list, _, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Max(catalog.branches.len() as u16),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let numbers: Vec<String> = (1..=catalog.branches.len())
        .map(|n| n.to_string())
        .collect();
    let ids: Vec<_> = catalog.branches.iter().map(|b| printable(&b.id)).collect();
    let number_width = widest(numbers.iter().map(String::as_str), 1) as u16;
    let id_width = widest(ids.iter().map(|id| id.as_ref()), 7) as u16;
    let name_width = usize::from(
        list.width
            .saturating_sub(1 + 2 + number_width + 2 + id_width + 2),
    );
    let rows = catalog
        .branches
        .iter()
        .zip(&numbers)
        .zip(&ids)
        .map(|((branch, n), id)| {
            Row::new([
                Cell::from(Line::from(n.as_str()).right_aligned()),
                Cell::from(id.as_ref()),
                Cell::from(ellipsis(&printable(&branch.name), name_width).into_owned()),
            ])
        });
    let table = Table::new(
        rows,
        [
            Constraint::Length(2 + number_width),
            Constraint::Length(id_width),
            Constraint::Fill(1),
        ],
    )
    .column_spacing(2)
    .highlight_symbol("▶")
    .highlight_spacing(HighlightSpacing::Always)
    .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(choice.cursor));
    frame.render_stateful_widget(table, list, &mut table_state);
    frame.render_widget(
        Paragraph::new(Line::styled(
            "  ↑↓ and Enter, or the branch's number",
            theme.dim(),
        )),
        hint,
    );
}
