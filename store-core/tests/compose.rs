//! compose.yaml cannot rot: its structure is checked here, and the commands it runs are
//! checked against the programs' own command-line definitions (here for store-core; pos-tui
//! and owner-tui check theirs).

use store_core::db::roles::{CLERK_ROLE, OWNER_ROLE};
use store_testkit::{assert_compose_command_accepted, compose_file};

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

/// `${NAME:?message}`: compose refuses to start unless NAME is set.
fn required_variable(value: &str) -> Option<&str> {
    value
        .strip_prefix("${")?
        .strip_suffix('}')?
        .split_once(":?")
        .map(|(name, _)| name)
}

#[test]
fn the_jobs_run_in_order_migrate_roles_seed_and_the_tuis_wait_for_them() {
    let compose = compose_file();
    let services = &compose["services"];
    let after = |service: &str, previous: &str| {
        services[service]["depends_on"][previous]["condition"]
            .as_str()
            .map(String::from)
    };
    assert_eq!(after("migrate", "db").as_deref(), Some("service_healthy"));
    for (service, previous) in [("roles", "migrate"), ("seed", "roles")] {
        assert_eq!(
            after(service, previous).as_deref(),
            Some("service_completed_successfully"),
            "{service} after {previous}"
        );
    }
    for tui in ["pos", "owner"] {
        assert_eq!(
            after(tui, "seed").as_deref(),
            Some("service_completed_successfully"),
            "{tui}"
        );
        assert_eq!(services[tui]["tty"].as_bool(), Some(true), "{tui}");
        assert_eq!(services[tui]["stdin_open"].as_bool(), Some(true), "{tui}");
    }
}

#[test]
fn the_tills_and_the_dashboard_log_in_as_their_roles_with_passwords_from_the_environment() {
    let compose = compose_file();
    let services = &compose["services"];
    let superuser = services["db"]["environment"]["POSTGRES_USER"]
        .as_str()
        .unwrap();
    assert_eq!(
        required_variable(
            services["db"]["environment"]["POSTGRES_PASSWORD"]
                .as_str()
                .unwrap()
        ),
        Some("POSTGRES_PASSWORD")
    );
    for (tui, role, password) in [
        ("pos", CLERK_ROLE, "ICASH_CLERK_PASSWORD"),
        ("owner", OWNER_ROLE, "ICASH_OWNER_PASSWORD"),
    ] {
        let env = &services[tui]["environment"];
        assert!(
            env["DATABASE_URL"].is_badvalue(),
            "{tui}: the role is in PGUSER"
        );
        assert_eq!(env["PGUSER"].as_str(), Some(role), "{tui}");
        assert_ne!(env["PGUSER"].as_str(), Some(superuser), "{tui}");
        assert_eq!(
            required_variable(env["PGPASSWORD"].as_str().unwrap()),
            Some(password),
            "{tui}"
        );
        assert_eq!(env["PGHOST"].as_str(), Some("db"), "{tui}");
        assert_eq!(
            env["PGDATABASE"].as_str(),
            services["db"]["environment"]["POSTGRES_DB"].as_str(),
            "{tui}"
        );
        // The roles job sets that same password.
        assert_eq!(
            required_variable(
                services["roles"]["environment"][password]
                    .as_str()
                    .unwrap_or_default()
            ),
            Some(password),
            "roles sets {password}"
        );
    }
    for job in ["migrate", "roles", "seed"] {
        let env = &services[job]["environment"];
        assert_eq!(env["PGUSER"].as_str(), Some(superuser), "{job}");
        assert_eq!(
            required_variable(env["PGPASSWORD"].as_str().unwrap()),
            Some("POSTGRES_PASSWORD"),
            "{job}"
        );
    }
}

#[test]
fn the_jobs_run_commands_store_core_accepts() {
    for job in ["migrate", "roles", "seed"] {
        assert_compose_command_accepted(job, "store-core", env!("CARGO_BIN_EXE_store-core"));
    }
    assert_eq!(
        store_testkit::compose_command("migrate")[..2],
        ["store-core", "migrate"]
    );
}

#[test]
fn the_api_sells_as_the_clerk_reads_as_the_owner_and_takes_its_tokens_from_the_environment() {
    let compose = compose_file();
    let api = &compose["services"]["api"];
    let env = &api["environment"];
    assert_eq!(env["PGUSER"].as_str(), Some(CLERK_ROLE));
    assert_eq!(
        required_variable(env["PGPASSWORD"].as_str().unwrap()),
        Some("ICASH_CLERK_PASSWORD")
    );
    let owner = env["ICASH_API_OWNER_DATABASE_URL"].as_str().unwrap();
    assert!(
        owner.contains(&format!("user={OWNER_ROLE} "))
            && owner.contains("password=${ICASH_OWNER_PASSWORD:?"),
        "{owner}"
    );
    for token in ["ICASH_API_CLERK_TOKEN", "ICASH_API_OWNER_TOKEN"] {
        assert_eq!(
            required_variable(env[token].as_str().unwrap_or_default()),
            Some(token)
        );
    }
    assert_eq!(
        api["depends_on"]["seed"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    assert_compose_command_accepted("api", "store-core", env!("CARGO_BIN_EXE_store-core"));
}

#[test]
fn a_fold_service_keeps_the_queue_short_and_the_standby_is_an_optional_profile() {
    let compose = compose_file();
    let services = &compose["services"];
    assert_eq!(
        store_testkit::compose_command("fold"),
        ["store-core", "fold", "--every", "1"]
    );
    assert_compose_command_accepted("fold", "store-core", env!("CARGO_BIN_EXE_store-core"));
    let superuser = services["db"]["environment"]["POSTGRES_USER"].as_str();
    assert_eq!(
        services["fold"]["environment"]["PGUSER"].as_str(),
        superuser,
        "the fold runs as the tables' owner"
    );
    for service in ["standby", "owner-standby"] {
        let profiles: Vec<&str> = services[service]["profiles"]
            .as_vec()
            .unwrap_or_else(|| panic!("{service} has profiles"))
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(profiles, ["standby"], "{service}");
    }
    assert_eq!(
        services["standby"]["image"].as_str(),
        services["db"]["image"].as_str()
    );
    let copy = services["standby"]["command"][2].as_str().unwrap();
    assert!(
        copy.contains("pg_basebackup -h db") && copy.contains(" -R "),
        "{copy}"
    );
    let owner = &services["owner-standby"]["environment"];
    assert_eq!(owner["PGHOST"].as_str(), Some("standby"));
    assert_eq!(owner["PGUSER"].as_str(), Some(OWNER_ROLE));
    assert!(
        services["owner"]["profiles"].is_badvalue(),
        "owner stays on by default"
    );
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
