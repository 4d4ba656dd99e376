//! How long drawing one full till screen takes: the view function into a ratatui `TestBackend`,
//! for a sale with a full cart and for the help overlay, at 80x24 and 200x60; and what `update`
//! costs for a message that changes nothing drawn but the clock (the state is copied and
//! compared on every message to decide the redraw).
//!
//! `cargo bench -p pos-tui --bench render`. The target (issue 5) is under 1 ms a screen.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use pos_tui::app::{Msg, State, update};
use pos_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A sale with every product in the cart and a returning customer's search under way.
fn full_cart() -> State {
    let mut state = selling();
    press(&mut state, "n1\r2\r3\r4\r5\r6\r7\r8\r9\r10\r");
    state
}

fn bench_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for (width, height) in [(80u16, 24u16), (200, 60)] {
        let cart = full_cart();
        let mut help = full_cart();
        press(&mut help, "?");
        for (name, state) in [("sale", cart), ("help", help)] {
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            group.bench_function(format!("{name} {width}x{height}"), |b| {
                b.iter(|| {
                    terminal
                        .draw(|frame| view(black_box(&state), frame))
                        .unwrap();
                })
            });
        }
    }
    group.finish();
}

fn bench_update(c: &mut Criterion) {
    let mut state = full_cart();
    let clock = noon();
    c.bench_function("update tick (copy + compare)", |b| {
        b.iter(|| black_box(update(&mut state, Msg::Tick(clock))))
    });
}

criterion_group!(benches, bench_render, bench_update);
criterion_main!(benches);
