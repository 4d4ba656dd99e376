//! How long drawing one full screen takes: the view function into a ratatui `TestBackend`,
//! with realistic figures (50 loyal buyers on the page, 4 top products with a tie, 3 branches,
//! a 30-day trend), at 80x24 and 200x60, with and without the help overlay; and each view of
//! issue 16 (summary, products, hours, tills, cashiers) at 80x24 and 160x48, full redraws.
//!
//! `cargo bench -p owner-tui --bench render`. The target (issue 5) is under 1 ms a screen.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use owner_tui::app::{Msg, Snapshot, State, View, update};
use owner_tui::keymap::Action;
use owner_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::domain::analytics::TrendBucket;

/// A dashboard as the owner sees it on a busy day.
fn full_state(width: u16, height: u16) -> State {
    let (d, trend) = busy_figures();
    assert_eq!(d.loyal_page.len(), 50);
    let mut state = connected_state(d.clone());
    // Answer a second refresh with the trend, as the program does after its first.
    tick(&mut state, 100_000);
    update(&mut state, Msg::Action(Action::Refresh));
    let id = state.in_flight().expect("a refresh in flight");
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: d,
                trend,
                bucket: TrendBucket::Day,
                standby: None,
                insights: Some(insights_30_days()),
            })),
        },
    );
    update(&mut state, Msg::Resize { width, height });
    state
}

fn bench_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for (width, height) in [(80u16, 24u16), (200, 60)] {
        for help in [false, true] {
            let mut state = full_state(width, height);
            if help {
                update(&mut state, Msg::Action(Action::Help));
            }
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            // The screen is the full one: figures (or the help over them) are drawn.
            terminal.draw(|f| view::render(f, &state)).unwrap();
            let screen = terminal.backend().to_string();
            let expected = if help { "Any key closes" } else { "1537204" };
            assert!(screen.contains(expected), "{screen}");
            let what = if help { "help" } else { "main" };
            group.bench_function(format!("{what}_full_{width}x{height}"), |b| {
                b.iter(|| {
                    // A full redraw, as after a resize: every cell is written again.
                    terminal.clear().unwrap();
                    terminal
                        .draw(|f| view::render(f, black_box(&state)))
                        .unwrap();
                })
            });
            if !help {
                group.bench_function(format!("{what}_redraw_{width}x{height}"), |b| {
                    b.iter(|| {
                        // A redraw after a refresh: the view is built in full and compared
                        // with the screen; only changed cells would be written.
                        terminal
                            .draw(|f| view::render(f, black_box(&state)))
                            .unwrap();
                    })
                });
            }
        }
    }
    for (width, height) in [(80u16, 24u16), (160, 48)] {
        for target in &View::ALL[1..] {
            let mut state = full_state(width, height);
            while state.view != *target {
                update(&mut state, Msg::Action(Action::NextView));
            }
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal.draw(|f| view::render(f, &state)).unwrap();
            let screen = terminal.backend().to_string();
            assert!(screen.contains(target.title()), "{screen}");
            let name = target.title().to_lowercase();
            group.bench_function(format!("{name}_full_{width}x{height}"), |b| {
                b.iter(|| {
                    terminal.clear().unwrap();
                    terminal
                        .draw(|f| view::render(f, black_box(&state)))
                        .unwrap();
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
