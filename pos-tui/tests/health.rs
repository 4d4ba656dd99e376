//! The till's view of the database follows the health probe, and its retries run on monotonic
//! time: a wall clock that jumps (DST, an NTP step) neither stalls nor hurries them.

mod common;

use chrono::Duration;
use common::*;
use pos_tui::app::{Clock, DbFailure, DbState, Effect, JournalStatus, Msg, update};
use store_core::till::journal::DrainReport;

fn unreachable() -> Msg {
    Msg::Health(Err(DbFailure {
        message: "the database gave no answer within 1.5 s".into(),
        connection: true,
    }))
}

fn waiting(pending: usize) -> Msg {
    Msg::Journal(JournalStatus {
        pending,
        refused: vec![],
        warning: None,
    })
}

#[test]
fn a_failed_probe_shows_reconnecting_and_the_next_answer_brings_the_till_back() {
    let mut state = selling();
    assert_eq!(update(&mut state, Msg::Health(Ok(()))), vec![]);
    assert_eq!(state.db, DbState::Connected);

    assert_eq!(update(&mut state, unreachable()), vec![]);
    assert_eq!(
        state.db,
        DbState::Reconnecting("the database gave no answer within 1.5 s".into())
    );
    assert!(state.is_offline());
    update(&mut state, waiting(2));

    // Back: the catalog is reloaded (changes may have been missed) and the queue is sent.
    assert_eq!(
        update(&mut state, Msg::Health(Ok(()))),
        vec![Effect::LoadCatalog, Effect::Drain]
    );
    assert_eq!(state.db, DbState::Connected);
    // Later answers change nothing.
    assert_eq!(update(&mut state, Msg::Health(Ok(()))), vec![]);
}

#[test]
fn a_probe_answered_with_an_error_means_the_database_is_reachable() {
    let mut state = selling();
    update(&mut state, Msg::Health(Ok(())));
    let refused = Msg::Health(Err(DbFailure {
        message: "permission denied".into(),
        connection: false,
    }));
    assert_eq!(update(&mut state, refused), vec![]);
    assert_eq!(state.db, DbState::Connected);
}

/// A server that answers every connection's startup with a FATAL error of this SQLSTATE (as
/// PostgreSQL does when it has no connection to give, or is starting or stopping).
fn server_refusing_with(sqlstate: &'static str, message: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            // The startup message: its length (itself included), then the rest.
            let mut length = [0u8; 4];
            if stream.read_exact(&mut length).is_err() {
                continue;
            }
            let mut rest = vec![0u8; u32::from_be_bytes(length) as usize - 4];
            if stream.read_exact(&mut rest).is_err() {
                continue;
            }
            let mut fields = Vec::new();
            for (kind, value) in [
                (b'S', "FATAL"),
                (b'V', "FATAL"),
                (b'C', sqlstate),
                (b'M', message),
            ] {
                fields.push(kind);
                fields.extend_from_slice(value.as_bytes());
                fields.push(0);
            }
            fields.push(0);
            let mut answer = vec![b'E'];
            answer.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
            answer.extend_from_slice(&fields);
            let _ = stream.write_all(&answer);
        }
    });
    port
}

/// What the health probe makes of connecting to that server (it connects with
/// `store_core::db::store::connect_one` and reports `DbFailure::from` the error).
async fn probe_failure(sqlstate: &'static str, message: &'static str) -> DbFailure {
    let port = server_refusing_with(sqlstate, message);
    let config: tokio_postgres::Config =
        format!("host=127.0.0.1 port={port} user=till dbname=icash sslmode=disable")
            .parse()
            .unwrap();
    match store_core::db::store::connect_one(&config).await {
        Ok(_) => panic!("{sqlstate}: connected although the server refuses"),
        Err(e) => DbFailure::from(e),
    }
}

#[tokio::test]
async fn a_server_with_no_connection_to_give_is_unreachable_for_the_probe() {
    for (sqlstate, message) in [
        ("53300", "sorry, too many clients already"),
        ("57P03", "the database system is starting up"),
    ] {
        let mut state = selling();
        update(&mut state, Msg::Health(Ok(())));
        let failure = probe_failure(sqlstate, message).await;
        assert!(failure.connection, "{sqlstate}: {failure:?}");
        update(&mut state, Msg::Health(Err(failure)));
        match &state.db {
            DbState::Reconnecting(why) => assert!(why.contains(message), "{sqlstate}: {why}"),
            other => panic!("{sqlstate}: still {other:?}"),
        }
        assert!(state.is_offline());
    }
    // A server that refuses this role answered: it is reachable (waiting will not mend that).
    let mut state = selling();
    update(&mut state, Msg::Health(Ok(())));
    let failure = probe_failure("28P01", "password authentication failed for user \"till\"").await;
    assert!(!failure.connection, "{failure:?}");
    update(&mut state, Msg::Health(Err(failure)));
    assert_eq!(state.db, DbState::Connected);
}

/// A till whose two queued sales could not be sent at `at`: the next round is due 3 s later.
fn queue_waiting_since(at: Clock) -> pos_tui::app::State {
    let mut state = selling();
    update(&mut state, waiting(2));
    assert!(update(&mut state, Msg::Tick(at)).contains(&Effect::Drain));
    update(
        &mut state,
        Msg::Drained {
            result: Ok(DrainReport {
                sent: 0,
                refused: 0,
                still_pending: 2,
                stopped: None,
            }),
            status: JournalStatus {
                pending: 2,
                refused: vec![],
                warning: None,
            },
        },
    );
    state
}

#[test]
fn a_wall_clock_set_back_an_hour_does_not_stall_the_resends() {
    let at = noon() + Duration::seconds(10);
    let mut state = queue_waiting_since(at);
    // DST fall-back (or an NTP step) one second later: the wall clock reads an hour earlier.
    let fall_back = Clock {
        wall: at.wall - Duration::hours(1) + Duration::seconds(1),
        since_start: at.since_start + std::time::Duration::from_secs(1),
    };
    assert!(!update(&mut state, Msg::Tick(fall_back)).contains(&Effect::Drain));
    let three_seconds_on = Clock {
        wall: fall_back.wall + Duration::seconds(2),
        since_start: at.since_start + std::time::Duration::from_secs(3),
    };
    assert!(update(&mut state, Msg::Tick(three_seconds_on)).contains(&Effect::Drain));
    // The screen shows the wall clock as it is.
    assert_eq!(state.now, three_seconds_on.wall);
}

#[test]
fn a_wall_clock_set_forward_does_not_hurry_them_either() {
    let at = noon() + Duration::seconds(10);
    let mut state = queue_waiting_since(at);
    let spring_forward = Clock {
        wall: at.wall + Duration::hours(1),
        since_start: at.since_start + std::time::Duration::from_secs(1),
    };
    let effects = update(&mut state, Msg::Tick(spring_forward));
    assert!(!effects.contains(&Effect::Drain), "{effects:?}");
    assert!(!effects.contains(&Effect::LoadCatalog), "{effects:?}");
}
