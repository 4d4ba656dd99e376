//! The yes/no questions and the "submitting" notice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::popup;
use super::theme::Theme;
use crate::app::Question;

pub fn render_question(question: Question, theme: &Theme, frame: &mut Frame, area: Rect) {
    let text = match question {
        Question::ClearCart => "Clear the whole cart?",
        Question::QuitWithCart => "A sale is open. Quit and drop it?",
    };
    let inner = popup(frame, area, 44, 5, " Are you sure? ".into());
    let lines = vec![
        Line::styled(format!(" {text}"), theme.error()),
        Line::default(),
        Line::raw(" y yes    n / Esc no"),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn render_submitting(theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = popup(frame, area, 44, 5, " Submitting ".into());
    let lines = vec![
        Line::styled(" Writing the sale to the database…", theme.total()),
        Line::default(),
        Line::styled(" Please wait; keys are ignored.", theme.dim()),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
