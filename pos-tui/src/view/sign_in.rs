//! Signing a cashier in: the number, then the PIN (shown as `*`) when the cashier has one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use store_core::domain::input::printable;

use super::theme::Theme;
use crate::app::{SignIn, State, cashier_label};

pub fn render(state: &State, sign_in: &SignIn, theme: &Theme, frame: &mut Frame, area: Rect) {
    let branch = match (state.branch.as_deref(), state.branch_name()) {
        (Some(id), Some(name)) => format!(" · {} {}", printable(id), printable(name)),
        (Some(id), None) => format!(" · {}", printable(id)),
        (None, _) => String::new(),
    };
    let block = Block::bordered().title(format!(
        " Cashier sign-in · till {}{branch} ",
        printable(&state.till)
    ));
    let cursor = Span::styled("▏", theme.fg(Color::Cyan));
    let mut lines = vec![Line::default()];
    match sign_in {
        SignIn::Number(number) => {
            lines.push(Line::from(vec![
                Span::styled("  Cashier number: ", theme.bold()),
                Span::raw(number.clone()),
                cursor,
            ]));
            lines.push(Line::default());
            lines.push(Line::styled(
                "  Type your cashier number, then Enter (b: another branch).",
                theme.dim(),
            ));
        }
        SignIn::Pin { cashier, pin } => {
            lines.push(Line::from(vec![
                Span::styled("  Cashier:        ", theme.bold()),
                Span::raw(cashier_label(cashier)),
            ]));
            lines.push(Line::from(vec![
                Span::styled("  PIN:            ", theme.bold()),
                Span::raw("*".repeat(pin.len())),
                cursor,
            ]));
            lines.push(Line::default());
            lines.push(Line::styled(
                "  Type your PIN, then Enter (Esc: another cashier number).",
                theme.dim(),
            ));
        }
        SignIn::Checking { cashier, .. } => {
            lines.push(Line::from(vec![
                Span::styled("  Cashier:        ", theme.bold()),
                Span::raw(cashier_label(cashier)),
            ]));
            lines.push(Line::default());
            lines.push(Line::styled("  Checking the PIN…", theme.total()));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
