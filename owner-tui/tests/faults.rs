//! The dashboard tells the truth under faults: a refresh stuck behind a lock shows "waiting for
//! the database", then STALE, and the dashboard recovers by itself; keys work meanwhile; the
//! clock follows the time zone's DST rules at each timestamp.

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use owner_tui::app::{Effect, Msg, Snapshot, State, WAITING_AFTER, update};
use owner_tui::keymap::Action;
use owner_tui::{effects, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::seed::{SeedOptions, seed};

fn screen(state: &State) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| view::render(f, state)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn status_line(state: &State) -> String {
    screen(state).lines().nth(1).unwrap_or_default().to_string()
}

#[test]
fn a_slow_refresh_says_waiting_then_stale_and_keys_still_work() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    assert!(status_line(&state).contains("LIVE"), "{}", screen(&state));
    let effects = update(&mut state, Msg::Action(Action::Refresh));
    let id = refresh_ids(&effects)[0];

    // No answer yet: LIVE until WAITING_AFTER, then the screen says what it waits for.
    tick(&mut state, 2_000 + WAITING_AFTER.as_millis() as u64 - 100);
    assert!(!state.waiting_for_database());
    state.take_dirty();
    tick(&mut state, 2_000 + WAITING_AFTER.as_millis() as u64);
    assert!(state.take_dirty(), "the change is drawn");
    assert!(state.waiting_for_database());
    let status = status_line(&state);
    assert!(status.contains("waiting for the database"), "{status}");
    assert!(!status.contains("LIVE"), "{status}");

    // Keys are handled meanwhile.
    update(&mut state, Msg::Action(Action::Help));
    assert!(state.help.is_some());
    update(&mut state, Msg::Action(Action::CloseOverlay));
    assert!(state.help.is_none());

    // The effect runner's timeout answers: STALE, with the reason, and a retry by itself.
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Err("the database gave no answer within 5 s".into()),
        },
    );
    let status = status_line(&state);
    assert!(status.contains("STALE"), "{status}");
    assert!(status.contains("no answer within 5 s"), "{status}");
    let retry = tick(&mut state, 9_000);
    assert_eq!(refresh_ids(&retry).len(), 1, "{retry:?}");
}

fn header_after(state: &mut State, generated_at: DateTime<Utc>) -> String {
    let mut d = dashboard(100, 10);
    d.generated_at = generated_at;
    let later = state.now.as_millis() as u64 + 100_000;
    // The periodic refresh is due by then.
    tick(state, later);
    let id = state.in_flight().expect("a refresh in flight");
    update(
        state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: d,
                trend: Vec::new(),
                bucket: store_core::domain::analytics::TrendBucket::Day,
                standby: None,
                insights: None,
            })),
        },
    );
    screen(state).lines().next().unwrap_or_default().to_string()
}

#[test]
fn the_clock_follows_the_time_zone_across_a_dst_change() {
    let mut state = connected_state(dashboard(100, 10));
    // Europe/London: UTC+1 until 2025-10-26 01:00 UTC, then UTC+0.
    state.settings.zone = store_core::domain::time_zone::Tz::Europe__London;
    let before = header_after(
        &mut state,
        Utc.with_ymd_and_hms(2025, 10, 26, 0, 59, 59).unwrap(),
    );
    assert!(before.contains("updated 01:59:59"), "{before}");
    // The same running dashboard, a second later on the UTC clock: an hour earlier locally.
    let after = header_after(
        &mut state,
        Utc.with_ymd_and_hms(2025, 10, 26, 1, 0, 0).unwrap(),
    );
    assert!(after.contains("updated 01:00:00"), "{after}");
}

/// The real effect runner against a real database: a refresh blocked by a lock comes back as an
/// error within its timeout (not never), and the next one, once the lock is gone, succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_stuck_behind_a_lock_times_out_and_the_next_one_succeeds() {
    let db = store_testkit::fresh_db().await;
    seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let mut state = State::new(settings(), 3);
    tick(&mut state, 1_000);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = |effects: Vec<Effect>| {
        for effect in effects {
            if matches!(effect, Effect::Refresh { .. }) {
                effects::spawn(&db.store, effect, &tx);
            }
        }
    };
    let answer = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>| {
        let limit = effects::QUERY_TIMEOUT + Duration::from_secs(10);
        loop {
            match tokio::time::timeout(limit, rx.recv()).await {
                Ok(Some(msg @ Msg::Refreshed { .. })) => return msg,
                Ok(Some(_)) => continue,
                other => panic!("no answer from the effect within {limit:?}: {other:?}"),
            }
        }
    };

    let mut locker = store_core::db::store::connect_one(db.store.config())
        .await
        .unwrap();
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE stat_branch_hourly IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    run(update(
        &mut state,
        Msg::Connected {
            description: "test".into(),
        },
    ));
    let stuck = answer(&mut rx).await;
    assert!(
        matches!(&stuck, Msg::Refreshed { result: Err(e), .. } if e.contains("no answer within")),
        "{stuck:?}"
    );
    update(&mut state, stuck);
    assert!(state.stale.is_some());
    let text = screen(&state);
    assert!(
        text.contains("Failed: the database gave no answer"),
        "{text}"
    );

    // The timed-out refresh's query was cancelled on the server, the lock still held: no
    // session is left waiting for it (each would keep a connection slot until the lock goes,
    // so a dashboard refreshing behind a long lock would use them all up).
    let admin = store_core::db::store::connect_one(db.store.config())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Sessions of this database, other than this one, waiting for a lock.
        let waiting: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock' \
                   AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} session(s) still waiting for the lock after the refresh timed out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    lock.rollback().await.unwrap();
    // The retry is due a second later on the dashboard's clock.
    run(tick(&mut state, 3_000));
    let recovered = answer(&mut rx).await;
    assert!(
        matches!(&recovered, Msg::Refreshed { result: Ok(_), .. }),
        "{recovered:?}"
    );
    update(&mut state, recovered);
    assert!(state.stale.is_none());
    assert!(state.shown.is_some());
}
