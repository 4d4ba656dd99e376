//! `store-core branch` and `store-core product`: the catalog from the shell. Every change goes
//! through the database's catalog functions (so it works as icash_manager, and as the schema's
//! owner), and reaches open tills within a second (their catalog notification).

use anyhow::Context;
use icash_cli::args::DatabaseArgs;

use store_core::Store;
use store_core::db::store::ConnectOptions;
use store_core::domain::catalog::{self, ProductListing};
use store_core::domain::input;

#[derive(clap::Subcommand, Debug)]
pub enum BranchAction {
    /// Add a branch (ID: 1-32 letters, digits, - or _).
    Add {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The new branch's id, e.g. SMKT004.
        id: String,
        /// The name people see.
        #[arg(long)]
        name: String,
        /// The branch's IANA time zone (e.g. Europe/Paris); default: the chain's.
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
    /// Rename a branch.
    Rename {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The branch's id.
        id: String,
        /// The new name.
        #[arg(long)]
        name: String,
    },
    /// Every branch, with its name and time zone.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print the branches as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ProductAction {
    /// Add a product on sale (names follow the seeder's rules).
    Add {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The product's name.
        name: String,
        /// Its unit price, e.g. 2.80.
        #[arg(long)]
        price: String,
    },
    /// Change a product's price (sales already made keep the price they were paid).
    Price {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The product, by name or id.
        product: String,
        /// The new unit price, e.g. 2.80.
        price: String,
    },
    /// Stop selling a product: tills hide it and the checkout refuses it; it stays in history,
    /// receipts and analytics.
    Retire {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The product, by name or id.
        product: String,
    },
    /// Put a retired product back on sale.
    Restore {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The product, by name or id.
        product: String,
    },
    /// Every product with its price; retired ones marked.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print the products as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl BranchAction {
    pub fn database_url(&mut self) -> &mut Option<String> {
        match self {
            BranchAction::Add { database, .. }
            | BranchAction::Rename { database, .. }
            | BranchAction::List { database, .. } => &mut database.database_url,
        }
    }
}

impl ProductAction {
    pub fn database_url(&mut self) -> &mut Option<String> {
        match self {
            ProductAction::Add { database, .. }
            | ProductAction::Price { database, .. }
            | ProductAction::Retire { database, .. }
            | ProductAction::Restore { database, .. }
            | ProductAction::List { database, .. } => &mut database.database_url,
        }
    }
}

/// Connects for a catalog or cashier command.
pub async fn connect(database: DatabaseArgs, command: &str) -> anyhow::Result<Store> {
    Ok(store_core::startup::open(&ConnectOptions {
        database_url: database.database_url,
        application_name: format!("store-core {command}"),
        ..ConnectOptions::default()
    })
    .await?)
}

/// A change refused for lack of privilege says which role may make it.
pub fn explain_privilege(e: store_core::Error) -> anyhow::Error {
    let denied = matches!(&e, store_core::Error::Db(db)
        if db.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    let e = anyhow::Error::from(e);
    if denied {
        e.context(
            "catalog and cashier changes are for icash_manager (or the schema's owner): \
             `store-core roles --manager-password ...` sets it up",
        )
    } else {
        e
    }
}

pub async fn run_branch(action: BranchAction) -> anyhow::Result<()> {
    match action {
        BranchAction::Add {
            database,
            id,
            name,
            timezone,
        } => {
            let store = connect(database, "branch").await?;
            let client = store.client().await?;
            catalog::add_branch(&client, &id, &name, timezone.as_deref())
                .await
                .map_err(explain_privilege)?;
            println!("branch {} added", input::printable(id.trim()));
        }
        BranchAction::Rename { database, id, name } => {
            let store = connect(database, "branch").await?;
            let client = store.client().await?;
            catalog::rename_branch(&client, &id, &name)
                .await
                .map_err(explain_privilege)?;
            println!("branch {} renamed", input::printable(id.trim()));
        }
        BranchAction::List { database, json } => {
            let store = connect(database, "branch").await?;
            let branches = catalog::load_catalog(&store.client().await?)
                .await?
                .branches;
            if json {
                println!("{}", serde_json::to_string_pretty(&branches)?);
                return Ok(());
            }
            for b in &branches {
                println!(
                    "{:<12} {:<32} {}",
                    input::printable(&b.id),
                    input::printable(&b.name),
                    b.timezone.map_or("(chain's time zone)", |zone| zone.name())
                );
            }
            if branches.is_empty() {
                println!("no branch yet: `store-core branch add ID --name NAME` adds one");
            }
        }
    }
    Ok(())
}

pub async fn run_product(action: ProductAction) -> anyhow::Result<()> {
    match action {
        ProductAction::Add {
            database,
            name,
            price,
        } => {
            let price = catalog::unit_price(&price)?;
            let store = connect(database, "product").await?;
            let client = store.client().await?;
            let id = catalog::add_product(&client, &name, price)
                .await
                .map_err(explain_privilege)?;
            println!(
                "product {} added: id {id}, {price}",
                input::quote(name.trim())
            );
        }
        ProductAction::Price {
            database,
            product,
            price,
        } => {
            let price = catalog::unit_price(&price)?;
            let store = connect(database, "product").await?;
            let client = store.client().await?;
            let found = catalog::resolve_product(&client, &product).await?;
            catalog::set_product_price(&client, found.id, price)
                .await
                .map_err(explain_privilege)?;
            println!(
                "product {} (id {}): {} -> {price}",
                input::quote(&found.name),
                found.id,
                found.unit_price
            );
        }
        ProductAction::Retire { database, product } => {
            set_retired(database, &product, true).await?;
        }
        ProductAction::Restore { database, product } => {
            set_retired(database, &product, false).await?;
        }
        ProductAction::List { database, json } => {
            let store = connect(database, "product").await?;
            let products = catalog::list_products(&store.client().await?).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&products)?);
                return Ok(());
            }
            for p in &products {
                println!("{}", describe(p));
            }
        }
    }
    Ok(())
}

fn describe(p: &ProductListing) -> String {
    let line = format!(
        "{:>4}  {:<32} {:>10}",
        p.id,
        input::printable(&p.name),
        p.unit_price
    );
    match p.retired_at {
        Some(at) => format!("{line}  retired {}", at.format("%Y-%m-%d %H:%M UTC")),
        None => line,
    }
}

async fn set_retired(database: DatabaseArgs, product: &str, retired: bool) -> anyhow::Result<()> {
    let store = connect(database, "product").await?;
    let client = store.client().await?;
    let found = catalog::resolve_product(&client, product).await?;
    let changed = catalog::set_product_retired(&client, found.id, retired)
        .await
        .map_err(explain_privilege)
        .with_context(|| format!("product {}", input::quote(&found.name)))?;
    let name = input::quote(&found.name);
    let id = found.id;
    match (retired, changed) {
        (true, true) => println!("product {name} (id {id}) retired: no longer sold"),
        (true, false) => println!("product {name} (id {id}) was retired already"),
        (false, true) => println!("product {name} (id {id}) is on sale again"),
        (false, false) => println!("product {name} (id {id}) was on sale already"),
    }
    Ok(())
}
