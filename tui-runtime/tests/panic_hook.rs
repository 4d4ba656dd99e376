//! The panic hook restores the terminal for a panic of the UI thread only. (A test binary of its
//! own: the hook is process-wide.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn only_a_panic_of_the_ui_thread_restores_the_terminal() {
    let restored = Arc::new(AtomicUsize::new(0));
    let counter = restored.clone();
    tui_runtime::terminal::install_panic_hook(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });

    let background = std::thread::spawn(|| panic!("a background task fails"));
    assert!(background.join().is_err());
    assert_eq!(
        restored.load(Ordering::SeqCst),
        0,
        "a background panic restored the terminal"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let task = runtime.block_on(async { tokio::spawn(async { panic!("an effect fails") }).await });
    assert!(task.is_err());
    assert_eq!(
        restored.load(Ordering::SeqCst),
        0,
        "a task's panic restored the terminal"
    );

    let on_ui_thread = std::panic::catch_unwind(|| panic!("the UI fails"));
    assert!(on_ui_thread.is_err());
    assert_eq!(restored.load(Ordering::SeqCst), 1);
}
