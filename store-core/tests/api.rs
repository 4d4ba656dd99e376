//! `store-core serve` through a real HTTP client against the running binary on 127.0.0.1 and
//! a throwaway database: every endpoint, every refusal, idempotent retries, role limits, live
//! events, TLS, and a graceful shutdown. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db};

const CLERK: &str = "clerk-secret-token";
const OWNER: &str = "owner-secret-token";
const USER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";
/// Bounds every wait for the server (start, an event, an exit).
const PATIENCE: Duration = Duration::from_secs(20);

struct Api {
    child: Child,
    base: String,
    http: reqwest::Client,
    db: TestDb,
    /// What the server wrote on stderr so far.
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    _home: tempfile::TempDir,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// reqwest's rustls is built without a default crypto provider: ring is it.
fn http_client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

fn http_client() -> reqwest::Client {
    http_client_builder().build().unwrap()
}

async fn demo_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    db
}

/// The server on a free port, with both tokens set and `args` added.
async fn serve(args: &[&str]) -> Api {
    serve_on(demo_db().await, args, http_client(), "http").await
}

async fn serve_on(db: TestDb, args: &[&str], http: reqwest::Client, scheme: &str) -> Api {
    serve_configured(db, args, http, scheme, None).await
}

/// With `config`, the configuration file holds it and the tokens' variables are unset.
async fn serve_configured(
    db: TestDb,
    args: &[&str],
    http: reqwest::Client,
    scheme: &str,
    config: Option<&str>,
) -> Api {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_store-core"));
    command.arg("serve");
    match config {
        Some(text) => {
            std::fs::write(home.path().join("config.toml"), text).unwrap();
            command
                .env_remove("ICASH_API_CLERK_TOKEN")
                .env_remove("ICASH_API_OWNER_TOKEN");
        }
        None => {
            command
                .env("ICASH_API_CLERK_TOKEN", CLERK)
                .env("ICASH_API_OWNER_TOKEN", OWNER)
                .args(["--listen", "127.0.0.1:0"]);
        }
    }
    let mut child = command
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("config.toml"))
        .env("ICASH_TIMEZONE", "Europe/Paris")
        .env_remove("MIN_PURCHASES")
        .env_remove("ICASH_API_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running store-core serve");
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (errors, written) = (child.stderr.take().unwrap(), stderr.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(errors).lines() {
            let line = line.unwrap_or_default();
            eprintln!("serve: {line}");
            written.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    let line = rx
        .recv_timeout(PATIENCE)
        .expect("serve prints where it listens");
    let address = line
        .strip_prefix(&format!("listening on {scheme}://"))
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    let host = if scheme == "https" {
        address.replace("127.0.0.1", "localhost")
    } else {
        address.to_string()
    };
    Api {
        child,
        base: format!("{scheme}://{host}"),
        http,
        db,
        stderr,
        _home: home,
    }
}

impl Api {
    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.get(format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn post(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let r = self.http.post(format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn purchases(&self) -> i64 {
        self.db
            .store
            .client()
            .await
            .unwrap()
            .query_one("SELECT count(*) FROM purchase", &[])
            .await
            .unwrap()
            .get(0)
    }

    async fn create(&self, body: Value) -> (StatusCode, Value) {
        answer(
            self.post("/cashier/create_purchase", Some(CLERK))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A refusal: a problem body with this status and field.
fn assert_problem(got: &(StatusCode, Value), status: u16, field: &str) {
    let (code, body) = got;
    assert_eq!(code.as_u16(), status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], "about:blank", "{body}");
    if field.is_empty() {
        assert!(body["field"].is_null(), "{body}");
    } else {
        assert_eq!(body["field"], field, "{body}");
    }
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

fn sale(items: Value, total: Value) -> Value {
    json!({"supermarket_id": "SMKT001", "user_id": USER, "items_list": items, "total_amount": total})
}

#[tokio::test]
async fn the_seed_catalog_lists_branches_products_and_a_bounded_page_of_customers() {
    let api = serve(&[]).await;
    let (status, body) = answer(
        api.get("/cashier/catalog", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["supermarkets"],
        json!(["SMKT001", "SMKT002", "SMKT003"])
    );
    let products = body["products"].as_array().unwrap();
    assert_eq!(
        products[0],
        json!({"id": 1, "name": "milk", "unit_price": 1.5})
    );
    assert_eq!(products.len(), 10);
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 100, "the default page");

    let (_, two) = answer(
        api.get("/cashier/catalog?limit=2", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(two["users"].as_array().unwrap()[..], users[..2]);
    let after = users[1].as_str().unwrap();
    let (_, next) = answer(
        api.get(
            &format!("/cashier/catalog?limit=2&after={after}"),
            Some(CLERK),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(next["users"].as_array().unwrap()[..], users[2..4]);

    let refused = answer(
        api.get("/cashier/catalog?limit=1001", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&refused, 422, "limit");
    let refused = answer(
        api.get("/cashier/catalog?after=nope", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&refused, 422, "after");
}

#[tokio::test]
async fn create_purchase_records_through_the_checkout_with_the_server_side_total() {
    let api = serve(&[]).await;
    let before = api.purchases().await;
    // Numbers and numeric strings; the expected total 7.3 is checked exactly against 7.30.
    let (status, body) = api.create(sale(json!([3, "1", 10]), json!(7.3))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["supermarket_id"], "SMKT001");
    assert_eq!(body["user_id"], USER);
    assert_eq!(body["items_list"], json!([1, 3, 10]));
    assert_eq!(body["total_amount"], json!(7.3));
    assert_eq!(body["replayed"], false);
    assert!(
        body["id"].as_i64().is_some() && body["timestamp"].is_string(),
        "{body}"
    );
    assert_eq!(api.purchases().await, before + 1);
    let stored: rust_decimal::Decimal = api
        .db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT total_amount FROM purchase WHERE id = $1",
            &[&body["id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored.to_string(), "7.30");
    // A string total is read exactly too.
    let (status, _) = api.create(sale(json!([2]), json!("2.00"))).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn every_bad_purchase_is_refused_with_the_field_and_nothing_is_written() {
    let api = serve(&[]).await;
    let before = api.purchases().await;
    let mut missing = Vec::new();
    for field in ["supermarket_id", "user_id", "items_list", "total_amount"] {
        let mut body = sale(json!([1]), json!(1.5));
        body.as_object_mut().unwrap().remove(field);
        missing.push((body, 422, field));
    }
    let cases = [
        (
            json!({"supermarket_id": "SMKT001", "user_id": "not-a-uuid", "items_list": [1], "total_amount": 1.5}),
            422,
            "user_id",
        ),
        (
            json!({"supermarket_id": "SMKT999", "user_id": USER, "items_list": [1], "total_amount": 1.5}),
            422,
            "supermarket_id",
        ),
        (
            json!({"supermarket_id": 7, "user_id": USER, "items_list": [1], "total_amount": 1.5}),
            422,
            "supermarket_id",
        ),
        (sale(json!([99]), json!(1.5)), 422, "items_list"),
        (sale(json!([1, 1]), json!(3.0)), 422, "items_list"),
        (sale(json!(["1", 1]), json!(3.0)), 422, "items_list"),
        (sale(json!([]), json!(0)), 422, "items_list"),
        (sale(json!(["milk"]), json!(1.5)), 422, "items_list"),
        (sale(json!("1,2"), json!(1.5)), 422, "items_list"),
        (sale(json!([1]), json!(9.99)), 409, "total_amount"),
        (sale(json!([1]), json!("1.5.0")), 422, "total_amount"),
        (sale(json!([1]), json!(1.505)), 422, "total_amount"),
    ];
    for (body, status, field) in missing.into_iter().chain(cases) {
        let got = api.create(body.clone()).await;
        assert_problem(&got, status, field);
    }
    // Not JSON, not an object: 400; the answer is a problem document.
    let response = api
        .post("/cashier/create_purchase", Some(CLERK))
        .body("{supermarket_id: SMKT001")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_problem(&answer(response).await, 400, "body");
    let got = answer(
        api.post("/cashier/create_purchase", Some(CLERK))
            .body("[1, 2]")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&got, 400, "body");
    let got = answer(
        api.post("/cashier/create_purchase", Some(CLERK))
            .header("Idempotency-Key", "twelve")
            .json(&sale(json!([1]), json!(1.5)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&got, 400, "Idempotency-Key");
    // Too large a body: 413.
    let huge = json!({"supermarket_id": "SMKT001", "user_id": USER, "items_list": vec![1; 40_000], "total_amount": 1});
    let response = api
        .post("/cashier/create_purchase", Some(CLERK))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_problem(&answer(response).await, 413, "body");
    assert_eq!(api.purchases().await, before, "nothing was written");
}

#[tokio::test]
async fn a_retry_under_the_same_idempotency_key_is_the_same_purchase() {
    let api = serve(&[]).await;
    let before = api.purchases().await;
    let key = uuid::Uuid::now_v7().to_string();
    let send = |body: Value| {
        api.post("/cashier/create_purchase", Some(CLERK))
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
    };
    let (first_status, first) = answer(send(sale(json!([1, 2]), json!(3.5))).await.unwrap()).await;
    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    let (again_status, again) = answer(send(sale(json!([2, 1]), json!(3.5))).await.unwrap()).await;
    assert_eq!(again_status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["sale_key"], key);
    assert_eq!(again["replayed"], true);
    assert_eq!(api.purchases().await, before + 1);
    // Another sale under the key: refused, nothing written.
    let other = answer(send(sale(json!([3]), json!(3.0))).await.unwrap()).await;
    assert_problem(&other, 409, "Idempotency-Key");
    assert_eq!(api.purchases().await, before + 1);

    // /v1: a new customer under a key is the same customer on a retry.
    let v1 = |key: &str| {
        api.post("/v1/purchases", Some(CLERK))
            .header("Idempotency-Key", key)
            .json(&json!({"supermarket_id": "SMKT002", "user": "new", "items": ["milk", "eggs", 10], "expected_total": "7.30"}))
            .send()
    };
    let key = uuid::Uuid::now_v7().to_string();
    let (status, first) = answer(v1(&key).await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["total_amount"], "7.30");
    assert_eq!(first["new_customer"], true);
    let (status, again) = answer(v1(&key).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["purchase_id"], &again["user_id"]),
        (&first["purchase_id"], &first["user_id"])
    );
    assert_eq!(again["replayed"], true);
    assert_eq!(api.purchases().await, before + 2);
}

#[tokio::test]
async fn the_seed_analytics_are_live_and_follow_min_purchases() {
    let api = serve(&[]).await;
    let api = &api;
    let get = |min: &str| {
        let path = format!("/dashboard/analytics{min}");
        async move { answer(api.get(&path, Some(OWNER)).send().await.unwrap()).await }
    };
    let (status, at3) = get("?min_purchases=3").await;
    assert_eq!(status, StatusCode::OK, "{at3}");
    let mut keys: Vec<&str> = at3
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "generated_at",
            "loyal_buyers",
            "top_products",
            "unique_buyers"
        ]
    );
    let loyal = at3["loyal_buyers"].as_array().unwrap();
    assert!(!loyal.is_empty());
    assert!(
        loyal
            .iter()
            .all(|b| b["purchase_count"].as_i64().unwrap() >= 3 && b["user_id"].is_string())
    );
    let top = &at3["top_products"][0];
    assert!(
        top["name"].is_string() && top["times_sold"].as_i64().unwrap() > 0,
        "{top}"
    );
    // The default threshold is the server's (3), and another threshold is another answer.
    assert_eq!(get("").await.1["loyal_buyers"], at3["loyal_buyers"]);
    let (_, at1) = get("?min_purchases=1").await;
    assert!(at1["loyal_buyers"].as_array().unwrap().len() > loyal.len());
    assert_eq!(at1["unique_buyers"], at3["unique_buyers"]);
    // A sale by a new customer shows at once (no cache).
    let buyers = at3["unique_buyers"].as_i64().unwrap();
    let new_customer = uuid::Uuid::new_v4();
    let (status, _) = api
        .create(json!({"supermarket_id": "SMKT003", "user_id": new_customer, "items_list": [5], "total_amount": 0.8}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(get("?min_purchases=3").await.1["unique_buyers"], buyers + 1);
    for bad in [
        "?min_purchases=0",
        "?min_purchases=three",
        "?min_purchases=-1",
    ] {
        assert_problem(&get(bad).await, 422, "min_purchases");
    }
}

#[tokio::test]
async fn each_role_reaches_only_its_endpoints_and_no_token_reaches_only_health() {
    let api = serve(&[]).await;
    let clerk_only = ["/cashier/catalog", "/v1/customers?prefix=0"];
    let owner_only = ["/dashboard/analytics", "/v1/analytics"];
    let either = ["/v1/catalog", "/v1/openapi.json"];
    for path in clerk_only.iter().chain(&owner_only).chain(&either) {
        let response = api.get(path, None).send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{path}");
        assert_problem(&answer(response).await, 401, "Authorization");
        let wrong = answer(api.get(path, Some("guess")).send().await.unwrap()).await;
        assert_problem(&wrong, 401, "Authorization");
    }
    for path in clerk_only {
        assert_eq!(
            api.get(path, Some(CLERK)).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
        assert_problem(
            &answer(api.get(path, Some(OWNER)).send().await.unwrap()).await,
            403,
            "Authorization",
        );
    }
    for path in owner_only {
        assert_eq!(
            api.get(path, Some(OWNER)).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
        assert_problem(
            &answer(api.get(path, Some(CLERK)).send().await.unwrap()).await,
            403,
            "Authorization",
        );
    }
    for path in either {
        for token in [CLERK, OWNER] {
            assert_eq!(
                api.get(path, Some(token)).send().await.unwrap().status(),
                StatusCode::OK,
                "{path}"
            );
        }
    }
    // An owner may not sell.
    let before = api.purchases().await;
    let got = answer(
        api.post("/cashier/create_purchase", Some(OWNER))
            .json(&sale(json!([1]), json!(1.5)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&got, 403, "Authorization");
    let got = answer(
        api.post("/v1/purchases", None)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&got, 401, "Authorization");
    assert_eq!(api.purchases().await, before);
    // Health needs no token.
    let (status, body) = answer(api.get("/healthz", None).send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = answer(api.get("/readyz", None).send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "ready"})));
    // Unknown paths are problems too.
    assert_problem(
        &answer(api.get("/nope", Some(CLERK)).send().await.unwrap()).await,
        404,
        "",
    );
}

#[tokio::test]
async fn open_roles_let_tokenless_requests_act_with_those_roles_only() {
    let api = serve(&["--open", "clerk"]).await;
    // Written before it listens; the reader thread may still be on its way.
    let deadline = std::time::Instant::now() + PATIENCE;
    let warned = loop {
        let text = api.stderr.lock().unwrap().clone();
        if text.contains("private network") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(warned.contains("warning: --open clerk"), "{warned}");
    assert!(!warned.contains("--open owner"), "{warned}");
    let (status, _) = answer(api.get("/cashier/catalog", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let got = answer(
        api.post("/cashier/create_purchase", None)
            .json(&sale(json!([1]), json!(1.5)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.0, StatusCode::CREATED, "{}", got.1);
    assert_problem(
        &answer(api.get("/dashboard/analytics", None).send().await.unwrap()).await,
        401,
        "Authorization",
    );
    // A wrong token is refused even for an open role.
    assert_problem(
        &answer(
            api.get("/cashier/catalog", Some("guess"))
                .send()
                .await
                .unwrap(),
        )
        .await,
        401,
        "Authorization",
    );
    drop(api);
    let api = serve(&["--open", "clerk,owner"]).await;
    assert_eq!(
        api.get("/dashboard/analytics", None)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

/// The fields of an answer and of its schema in the served OpenAPI document.
fn assert_fields_match_schema(doc: &Value, schema: &str, value: &Value) {
    let mut documented: Vec<&str> = doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema} in the document"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut answered: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort();
    answered.sort();
    assert_eq!(documented, answered, "{schema}");
}

#[tokio::test]
async fn v1_answers_in_the_command_lines_shapes_and_as_its_openapi_document_says() {
    let api = serve(&[]).await;
    let (status, doc) = answer(
        api.get("/v1/openapi.json", Some(OWNER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for path in [
        "/cashier/catalog",
        "/cashier/create_purchase",
        "/dashboard/analytics",
        "/v1/catalog",
        "/v1/purchases",
        "/v1/analytics",
        "/v1/customers",
        "/v1/events",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }

    // The catalog, as `store-core catalog --json` prints it.
    let (_, catalog) = answer(api.get("/v1/catalog", Some(CLERK)).send().await.unwrap()).await;
    let library = store_core::domain::catalog::load_catalog(&api.db.store.client().await.unwrap())
        .await
        .unwrap();
    assert_eq!(catalog, serde_json::to_value(&library).unwrap());
    assert_fields_match_schema(&doc, "Catalog", &catalog);
    assert_fields_match_schema(&doc, "Product", &catalog["products"][0]);

    let known: uuid::Uuid = api
        .db
        .store
        .client()
        .await
        .unwrap()
        .query_one("SELECT user_id FROM customer ORDER BY user_id LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    let (status, receipt) = answer(
        api.post("/v1/purchases", Some(CLERK))
            .json(&json!({"supermarket_id": "SMKT003", "user": known, "items": [" Milk ", "4"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["user_id"], known.to_string());
    assert_eq!(receipt["new_customer"], false);
    assert_fields_match_schema(&doc, "Receipt", &receipt);
    assert_fields_match_schema(&doc, "ReceiptLine", &receipt["lines"][0]);
    let refusals = [
        (
            json!({"supermarket_id": "SMKT003", "user": uuid::Uuid::new_v4(), "items": [1]}),
            422,
            "user",
        ),
        (
            json!({"supermarket_id": "SMKT003", "user": "someone", "items": [1]}),
            422,
            "user",
        ),
        (
            json!({"supermarket_id": "SMKT009", "user": "new", "items": [1]}),
            422,
            "supermarket_id",
        ),
        (
            json!({"supermarket_id": "SMKT003", "user": "new", "items": ["caviar"]}),
            422,
            "items",
        ),
        (
            json!({"supermarket_id": "SMKT003", "user": "new", "items": ["milk", 1]}),
            422,
            "items",
        ),
        (
            json!({"supermarket_id": "SMKT003", "user": "new", "items": [1], "expected_total": "1.00"}),
            409,
            "expected_total",
        ),
    ];
    for (body, status, field) in refusals {
        let got = answer(
            api.post("/v1/purchases", Some(CLERK))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_problem(&got, status, field);
    }

    // Analytics with filters.
    let (status, all) = answer(api.get("/v1/analytics", Some(OWNER)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_fields_match_schema(&doc, "Dashboard", &all);
    assert_fields_match_schema(&doc, "Filter", &all["filter"]);
    assert_fields_match_schema(&doc, "LoyalBuyer", &all["loyal_page"][0]);
    assert_fields_match_schema(&doc, "TopProduct", &all["top_products"][0]);
    assert_fields_match_schema(&doc, "BranchSales", &all["branches"][0]);
    assert_eq!(all["branches"].as_array().unwrap().len(), 3);
    let (_, one) = answer(
        api.get(
            "/v1/analytics?supermarket_id=SMKT002&period=last30_days&min_purchases=1&loyal_limit=2",
            Some(OWNER),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        one["filter"],
        json!({"supermarket_id": "SMKT002", "period": "last30_days", "zone": "Europe/Paris"})
    );
    assert_eq!(one["min_purchases"], 1);
    assert!(one["loyal_page"].as_array().unwrap().len() <= 2);
    assert_eq!(one["branches"].as_array().unwrap().len(), 1);
    for (query, field) in [
        ("period=yesterday", "period"),
        ("supermarket_id=SMKT404", "supermarket_id"),
        ("loyal_limit=-1", "loyal_limit"),
    ] {
        let got = answer(
            api.get(&format!("/v1/analytics?{query}"), Some(OWNER))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_problem(&got, 422, field);
    }

    // Customer search by id prefix.
    let known = known.to_string();
    let (status, found) = answer(
        api.get(
            &format!("/v1/customers?prefix={}", &known[..6]),
            Some(CLERK),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["user_id"], known);
    assert_fields_match_schema(&doc, "CustomerSummary", &found[0]);
    let got = answer(
        api.get("/v1/customers?prefix=xyz", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&got, 422, "prefix");
}

/// Reads the event stream until an event named `name`, within PATIENCE; its data.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String, name: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let field = |key: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                };
                if field("event:").as_deref() == Some(name) {
                    return serde_json::from_str(&field("data:").unwrap_or_default()).unwrap();
                }
            }
            let chunk = stream.chunk().await.unwrap().expect("the stream goes on");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event within {PATIENCE:?}"))
}

#[tokio::test]
async fn a_sale_is_delivered_as_a_server_sent_event() {
    let api = serve(&[]).await;
    let mut stream = api.get("/v1/events", Some(OWNER)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    next_event(&mut stream, &mut buffer, "ready").await;
    // Any role may notify on the channel: what is not a sale's notice is dropped, and a sale's
    // is written anew with only its two fields.
    let notifier = api.db.store.client().await.unwrap();
    for payload in [
        "not json",
        r#"{"purchase_id": "1", "supermarket_id": "SMKT001"}"#,
        r#"{"purchase_id": 1, "supermarket_id": "SMKT001", "forged": true}"#,
    ] {
        notifier
            .execute("SELECT pg_notify('icash_purchase', $1)", &[&payload])
            .await
            .unwrap();
    }
    let forged = next_event(&mut stream, &mut buffer, "purchase").await;
    assert_eq!(
        forged,
        json!({"purchase_id": 1, "supermarket_id": "SMKT001"})
    );
    let (status, sold) = api.create(sale(json!([4]), json!(6.5))).await;
    assert_eq!(status, StatusCode::CREATED, "{sold}");
    let event = next_event(&mut stream, &mut buffer, "purchase").await;
    assert_eq!(event["purchase_id"], sold["id"]);
    assert_eq!(event["supermarket_id"], "SMKT001");
    // A price change is a catalog event.
    api.db
        .store
        .client()
        .await
        .unwrap()
        .execute(
            "UPDATE product SET unit_price = unit_price + 1 WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    let event = next_event(&mut stream, &mut buffer, "catalog").await;
    assert_eq!(event["table"], "product");
}

#[tokio::test]
async fn sigterm_ends_open_streams_and_the_server_exits_cleanly() {
    let mut api = serve(&[]).await;
    let mut stream = api.get("/v1/events", Some(CLERK)).send().await.unwrap();
    let mut buffer = String::new();
    next_event(&mut stream, &mut buffer, "ready").await;
    let pid = nix::unistd::Pid::from_raw(api.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    // The stream ends (not cut by a kill: the server closes it).
    let ended = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended");
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = api.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn with_a_certificate_it_serves_https() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("api.crt"), dir.path().join("api.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let http = http_client_builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let args = [
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ];
    let api = serve_on(demo_db().await, &args, http, "https").await;
    let (status, body) = answer(
        api.get("/cashier/catalog?limit=1", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = http_client()
        .get(api.base.replace("https://", "http://") + "/healthz")
        .timeout(PATIENCE)
        .send()
        .await;
    assert!(plain.map(|r| !r.status().is_success()).unwrap_or(true));
}

#[tokio::test]
async fn sales_run_as_icash_clerk_and_analytics_as_icash_owner_and_no_database_text_leaks() {
    let db = demo_db().await;
    store_core::db::roles::create_roles(
        &db.store.client().await.unwrap(),
        store_core::db::roles::RolePasswords::default(),
    )
    .await
    .unwrap();
    let as_role = |role: &str| db.url.replace("user=postgres", &format!("user={role}"));
    let (clerk, owner) = (as_role("icash_clerk"), as_role("icash_owner"));
    let url = db.url.clone();
    // The clerk's connection alone: selling works, analytics is refused by the database.
    let api = serve_on(db, &["--database-url", &clerk], http_client(), "http").await;
    let (status, body) = api.create(sale(json!([1]), json!(1.5))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = answer(
        api.get("/dashboard/analytics", Some(OWNER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    let text = body.to_string();
    for secret in [
        "permission",
        "fold_purchases",
        "SELECT",
        "stat_",
        "icash_clerk",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // With the owner's connection for analytics, both work.
    let db = TestDb {
        store: api.db.store.clone(),
        name: api.db.name.clone(),
        url,
    };
    drop(api);
    let args = ["--database-url", &clerk, "--owner-database-url", &owner];
    let api = serve_on(db, &args, http_client(), "http").await;
    let (status, body) = answer(
        api.get("/dashboard/analytics", Some(OWNER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = answer(api.get("/readyz", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_config_files_api_table_gives_the_address_the_tokens_and_the_threshold() {
    let config = format!(
        "min_purchases = 1000\n[api]\nlisten = \"127.0.0.1:0\"\nowner_token = \"{OWNER}\"\n"
    );
    let api = serve_configured(demo_db().await, &[], http_client(), "http", Some(&config)).await;
    let (status, body) = answer(
        api.get("/dashboard/analytics", Some(OWNER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["loyal_buyers"], json!([]), "the file's threshold");
    // No clerk token anywhere: the clerk's endpoints are closed.
    let refused = answer(
        api.get("/cashier/catalog", Some(CLERK))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&refused, 401, "Authorization");
}

#[tokio::test]
async fn the_same_token_for_both_roles_is_refused_at_start() {
    let db = demo_db().await;
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ICASH_API_CLERK_TOKEN", CLERK)
        .env("ICASH_API_OWNER_TOKEN", CLERK)
        .env("DATABASE_URL", &db.url)
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("config.toml"))
        .env_remove("ICASH_API_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running store-core serve");
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started with the same token for both roles");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success());
    assert!(stderr.contains("tokens are the same"), "{stderr}");
    assert!(!stderr.contains(CLERK), "the token is not echoed: {stderr}");
}

#[tokio::test]
async fn a_query_that_runs_too_long_is_cancelled_by_the_database_before_the_request_times_out() {
    let api = serve(&[]).await;
    let mut locker = api.db.store.client().await.unwrap();
    let holding = locker.transaction().await.unwrap();
    holding
        .batch_execute("LOCK TABLE product IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // Waits on the lock until the statement timeout (25 s) cancels it, before the request's
    // own 30 s; without one the query would wait on after the request was answered.
    let response = api
        .get("/v1/catalog", Some(CLERK))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("database took longer than 25 s"),
        "{body}"
    );
    let waiting: i64 = holding
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'store-core serve' AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0, "the server's query still waits");
    holding.rollback().await.unwrap();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = serve(&[]).await;
    let address = api.base.strip_prefix("http://").unwrap();
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    // The server closes it after its header read timeout (10 s); an unbounded server never.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the connection is still open with its headers unfinished"
    );
    let (status, _) = answer(api.get("/healthz", None).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn event_streams_beyond_the_cap_are_refused_and_a_closed_one_frees_its_place() {
    const MAX_EVENT_STREAMS: usize = 256;
    let api = serve(&[]).await;
    let mut streams = Vec::new();
    for _ in 0..MAX_EVENT_STREAMS {
        let stream = api.get("/v1/events", Some(OWNER)).send().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        streams.push(stream);
    }
    let refused = answer(api.get("/v1/events", Some(OWNER)).send().await.unwrap()).await;
    assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.1);
    assert!(
        refused.1["detail"]
            .as_str()
            .unwrap()
            .contains("event streams are open"),
        "{}",
        refused.1
    );
    // Other requests are still served.
    let (status, _) = answer(api.get("/v1/catalog", Some(OWNER)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    drop(streams.pop());
    let reopened = tokio::time::timeout(PATIENCE, async {
        loop {
            let stream = api.get("/v1/events", Some(OWNER)).send().await.unwrap();
            if stream.status() == StatusCode::OK {
                return stream;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "a closed stream's place is not freed");
}

#[tokio::test]
async fn a_flood_of_readiness_probes_takes_one_connection_not_one_each() {
    let api = serve(&[]).await;
    let probes = (0..64).map(|_| async {
        let (status, body) = answer(api.get("/readyz", None).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    });
    futures_util::future::join_all(probes).await;
    // Pooled connections stay open once made: their count is how many the probes held at once.
    let connections: i64 = api
        .db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'store-core serve'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // One pooled connection and the events' listening one (and, at most, the start's check
    // of the schema, closing); a probe each would fill the pool's 16.
    assert!(connections <= 3, "{connections} connections for the probes");
}
