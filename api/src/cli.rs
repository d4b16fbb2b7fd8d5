//! The `mati` command line. Every command reads the same `MATI_…` settings as the
//! server and works while a server runs on the same database.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use mati_domain::auth::{Principal, Role, StaffAccount};
use mati_infra::gazetteer::import::{self, Provenance};
use mati_infra::gazetteer::source;

use crate::settings::Settings;
use crate::{app, telemetry};

/// Mati: citizens' comments to Cambodia's sub-national administrations.
#[derive(Debug, Parser)]
#[command(name = "mati", version, about)]
pub struct Cli {
    /// What to do; the server when omitted.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server (the default).
    Serve,
    /// Database schema migrations.
    Migrate {
        /// up, down or status.
        #[arg(value_enum, default_value = "up")]
        direction: Direction,
    },
    /// The gazetteer of administrative units.
    Gazetteer {
        #[command(subcommand)]
        command: GazetteerCommand,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Prints the GraphQL schema (SDL), as committed in schema.graphql.
    Schema,
    /// Generates synthetic routed comments for benchmarks (PostgreSQL only).
    Seed {
        /// How many comments.
        #[arg(long, default_value_t = 1_000_000)]
        comments: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Direction {
    /// Apply pending migrations.
    Up,
    /// Roll every migration back (drops all tables).
    Down,
    /// List applied and pending migrations.
    Status,
}

#[derive(Debug, Subcommand)]
enum GazetteerCommand {
    /// Imports DIR/{provinces,districts,communes,villages}.csv, one row per line.
    /// Defective lines are reported with file, line and reason, and every line is
    /// counted; the valid rest is imported in one transaction. Running it twice changes
    /// nothing the second time.
    Import {
        /// Directory holding the four CSV files.
        dir: PathBuf,
        /// Exit with status 3 when any line was defective (the valid rows are still imported).
        #[arg(long)]
        strict: bool,
        /// Publisher recorded on every unit.
        #[arg(long, default_value = "MEF")]
        source: String,
        /// Edition recorded on every unit; a different one replaces the stored gazetteer.
        #[arg(long = "edition", default_value = "2025")]
        edition: String,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Creates a staff account; the password is read from standard input.
    Add {
        /// admin, moderator, official or monitor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Login name.
        #[arg(long)]
        username: String,
        /// The administration's code (officials only).
        #[arg(long)]
        unit: Option<String>,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| format!("{raw:?} is not one of admin, moderator, official, monitor"))
}

/// Exit status when `--strict` found defective rows.
const EXIT_DEFECTS: u8 = 3;

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("mati: bad setting {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_filter, settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("mati: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mati: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => app::serve(settings).await.map(|()| ExitCode::SUCCESS),
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { direction } => migrate(direction, &settings).await,
        Command::Seed { comments } => seed(&settings, comments).await,
        Command::Gazetteer {
            command:
                GazetteerCommand::Import {
                    dir,
                    strict,
                    source,
                    edition,
                },
        } => {
            import_gazetteer(
                &settings,
                &dir,
                strict,
                Provenance {
                    source,
                    version: edition,
                },
            )
            .await
        }
        Command::Staff {
            command: StaffCommand::Add { role, username, unit },
        } => add_staff(&settings, role, &username, unit.as_deref()).await,
    }
}

async fn seed(settings: &Settings, count: u64) -> anyhow::Result<ExitCode> {
    let db = app::connect(settings).await?;
    mati_infra::bootstrap::prepare(&db).await?;
    let started = std::time::Instant::now();
    mati_infra::seed::comments(&db, count, |done| {
        println!(
            "seeded {done} of {count} comments ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn migrate(direction: Direction, settings: &Settings) -> anyhow::Result<ExitCode> {
    let db = app::connect(settings).await?;
    match direction {
        Direction::Up => {
            db.migrate_up().await?;
            println!("migrations applied");
        }
        Direction::Down => {
            db.migrate_down().await?;
            println!("migrations rolled back");
        }
        Direction::Status => {
            for (name, applied) in db.migration_status().await? {
                println!("{} {name}", if applied { "applied" } else { "pending" });
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_gazetteer(
    settings: &Settings,
    dir: &std::path::Path,
    strict: bool,
    provenance: Provenance,
) -> anyhow::Result<ExitCode> {
    println!("reading {}", dir.display());
    let parsed = source::parse_dir(dir)?;
    let mut out = std::io::stdout().lock();
    for defect in &parsed.defects {
        writeln!(out, "defect {defect}")?;
    }
    // Every line is counted once, so the four numbers add up to the first.
    writeln!(
        out,
        "{} lines read: {} headers, {} blank, {} valid rows, {} defective",
        parsed.lines,
        source::FILES.len(),
        parsed.blank,
        parsed.units.len(),
        parsed.defects.len()
    )?;
    drop(out);
    let db = app::connect(settings).await?;
    db.migrate_up().await?;
    println!("importing {} units in one transaction", parsed.units.len());
    let report = import::import(&db, &parsed, &provenance).await?;
    println!(
        "imported: {} added, {} changed, {} unchanged, {} removed (source {} {})",
        report.added, report.changed, report.unchanged, report.removed, provenance.source, provenance.version
    );
    if strict && !parsed.defects.is_empty() {
        eprintln!("mati: --strict: {} defective lines", parsed.defects.len());
        return Ok(ExitCode::from(EXIT_DEFECTS));
    }
    Ok(ExitCode::SUCCESS)
}

async fn add_staff(settings: &Settings, role: Role, username: &str, unit: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let db = app::connect(settings).await?;
    mati_infra::bootstrap::prepare(&db).await?;
    let mati = app::command_services(db)?;
    // The command line is trusted like an administrator: it is how the first one is made.
    let operator = Principal::Staff(StaffAccount {
        id: 0,
        username: "command-line".into(),
        role: Role::Admin,
        unit: None,
    });
    match mati
        .create_staff_account(&operator, username, password, role, unit)
        .await
    {
        Ok(account) => {
            let unit = account.unit.map(|u| format!(" of unit {u}")).unwrap_or_default();
            println!(
                "created {} {}{unit} (id {})",
                account.role.as_str(),
                account.username,
                account.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(mati_domain::DomainError::InvalidInput { field, message, .. }) => {
            eprintln!("mati: {field}: {message}");
            Ok(ExitCode::from(2))
        }
        Err(err) => Err(anyhow::anyhow!("{err}")),
    }
}
