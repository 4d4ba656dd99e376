//! compose.yaml cannot rot: its structure is checked here, and the commands it runs are
//! checked against the programs' own command-line definitions (here for store-core; pos-tui
//! and owner-tui check theirs).

use store_core::testkit::{assert_compose_command_accepted, compose_file};

#[test]
fn the_database_is_postgres_18_alpine_with_a_volume_and_a_healthcheck() {
    let compose = compose_file();
    let db = &compose["services"]["db"];
    assert_eq!(db["image"].as_str(), Some("postgres:18-alpine"));
    let volume = db["volumes"][0].as_str().unwrap();
    let name = volume.split(':').next().unwrap();
    assert!(
        !compose["volumes"][name].is_badvalue(),
        "named volume {name} is declared"
    );
    let test: Vec<&str> = db["healthcheck"]["test"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(test.iter().any(|t| t.contains("pg_isready")), "{test:?}");
}

#[test]
fn seeding_waits_for_a_healthy_database_and_the_tuis_for_the_seed() {
    let compose = compose_file();
    let services = &compose["services"];
    assert_eq!(
        services["seed"]["depends_on"]["db"]["condition"].as_str(),
        Some("service_healthy")
    );
    for tui in ["pos", "owner"] {
        assert_eq!(
            services[tui]["depends_on"]["seed"]["condition"].as_str(),
            Some("service_completed_successfully"),
            "{tui}"
        );
        assert_eq!(services[tui]["tty"].as_bool(), Some(true), "{tui}");
        assert_eq!(services[tui]["stdin_open"].as_bool(), Some(true), "{tui}");
        let url = services[tui]["environment"]["DATABASE_URL"]
            .as_str()
            .unwrap();
        store_core::config::parse_database_url(url).unwrap();
    }
}

#[test]
fn the_seed_command_is_one_store_core_accepts() {
    assert_compose_command_accepted("seed", "store-core", env!("CARGO_BIN_EXE_store-core"));
}

#[test]
fn the_image_runs_as_a_non_root_user() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert_ne!(user.trim(), "root");
    assert!(
        dockerfile.contains("FROM ") && dockerfile.matches("FROM ").count() >= 2,
        "multi-stage"
    );
}
