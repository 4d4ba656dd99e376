//! `store-core cashier`: the cashiers who sign in at the tills. PINs are read from a prompt
//! without echo (a terminal) or one line of stdin, and only their argon2 hash is stored.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use icash_cli::args::DatabaseArgs;

use store_core::domain::cashier;
use store_core::domain::input;

use super::catalog::{connect, explain_privilege};

#[derive(clap::Subcommand, Debug)]
pub enum CashierAction {
    /// Add a cashier. Numbers are never reused, even once retired.
    Add {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The cashier's number (from 1), typed at the till to sign in.
        number: i32,
        /// The name the till shows.
        #[arg(long)]
        name: String,
        /// Ask for a PIN (4 to 12 digits): prompted without echo on a terminal, else one line of
        /// stdin. Only its hash is stored.
        #[arg(long)]
        pin: bool,
        /// A manager: confirms voids and refunds at the tills with their number and PIN, which
        /// the database checks (so --pin is needed too).
        #[arg(long, requires = "pin")]
        manager: bool,
    },
    /// Every cashier (never their PIN): number, name, whether they have a PIN, whether they are a
    /// manager, retired or not.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print the cashiers as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retire a cashier: they can no longer sign in; their sales keep their number.
    Retire {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The cashier's number.
        number: i32,
    },
}

impl CashierAction {
    pub fn database_url(&mut self) -> &mut Option<String> {
        match self {
            CashierAction::Add { database, .. }
            | CashierAction::List { database, .. }
            | CashierAction::Retire { database, .. } => &mut database.database_url,
        }
    }
}

/// The PIN, typed twice without echo on a terminal; else the first line of stdin.
fn read_pin() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let pin =
            rpassword::prompt_password("PIN (4 to 12 digits): ").context("reading the PIN")?;
        cashier::check_pin(&pin).map_err(anyhow::Error::msg)?;
        let again =
            rpassword::prompt_password("the same PIN again: ").context("reading the PIN")?;
        anyhow::ensure!(pin == again, "the two PINs differ; nothing was changed");
        return Ok(pin);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the PIN from stdin")?;
    let pin =
        cashier::check_pin(&line).map_err(|e| anyhow::anyhow!("the PIN read from stdin: {e}"))?;
    Ok(pin.to_string())
}

pub async fn run(action: CashierAction) -> anyhow::Result<()> {
    match action {
        CashierAction::Add {
            database,
            number,
            name,
            pin,
            manager,
        } => {
            // Everything typed is checked before the database is reached.
            input::display_name(&name).map_err(|e| anyhow::anyhow!("cashier name: {e}"))?;
            let pin = if pin { Some(read_pin()?) } else { None };
            let store = connect(database, "cashier").await?;
            let client = store.client().await?;
            cashier::add_cashier_with(&client, number, &name, pin.as_deref(), manager)
                .await
                .map_err(explain_privilege)?;
            println!(
                "{} {number} ({}) added{}",
                if manager { "manager" } else { "cashier" },
                input::printable(name.trim()),
                if pin.is_some() { " with a PIN" } else { "" }
            );
        }
        CashierAction::List { database, json } => {
            let store = connect(database, "cashier").await?;
            let cashiers = cashier::list_cashiers(&store.client().await?)
                .await
                .map_err(explain_privilege)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cashiers)?);
                return Ok(());
            }
            for c in &cashiers {
                println!(
                    "{:>6}  {:<32} {:<7} {:<8} {}",
                    c.number,
                    input::printable(&c.name),
                    if c.has_pin { "PIN" } else { "no PIN" },
                    if c.is_manager { "manager" } else { "" },
                    c.retired_at
                        .map(|t| format!("retired {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                );
            }
            if cashiers.is_empty() {
                println!(
                    "no cashier: tills sell without signing in (`store-core cashier add` adds one)"
                );
            }
        }
        CashierAction::Retire { database, number } => {
            let store = connect(database, "cashier").await?;
            let changed = cashier::retire_cashier(&store.client().await?, number)
                .await
                .map_err(explain_privilege)?;
            if changed {
                println!("cashier {number} retired");
            } else {
                println!("cashier {number} was retired already");
            }
        }
    }
    Ok(())
}
