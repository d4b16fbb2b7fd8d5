//! The `mati` command line. Every command reads the same `MATI_…` settings as the
//! server and works while a server runs on the same database.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use mati_domain::DomainError;
use mati_domain::auth::{Principal, Role, StaffAccount};
use mati_domain::comment::StaffId;
use mati_domain::geography::AdminLevel;
use mati_domain::service::StaffUpdate;
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
    /// Writes a consistent copy of the SQLite database to FILE, also while the server
    /// runs on it. PostgreSQL is backed up with pg_dump instead.
    Backup {
        /// The new file; an existing one is never overwritten.
        file: PathBuf,
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
    /// Generates synthetic routed comments for benchmarks and demonstrations.
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
    /// Imports DIR/{provinces,districts,communes,villages}.csv, one row per line, and the
    /// commune centres of DIR/commune_centroids.csv when it is there (they replace the
    /// stored ones; without the file those are kept). Defective lines are reported with
    /// file, line and reason, and every line is counted; the valid rest is imported in one
    /// transaction. Running it twice changes nothing the second time.
    Import {
        /// Directory holding the four CSV files (and optionally commune_centroids.csv).
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
    /// Changes an account. Disabling it, or a new password, role or unit, ends all its
    /// sessions at once.
    Update {
        /// Login name of the account.
        #[arg(long)]
        username: String,
        /// Disables the account: it cannot log in.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enables a disabled account.
        #[arg(long)]
        enable: bool,
        /// Sets a new password, read from standard input.
        #[arg(long)]
        password: bool,
        /// A new role: admin, moderator, official or monitor.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
        /// A new administration's code (officials only; an official keeps theirs without it).
        #[arg(long)]
        unit: Option<String>,
    },
    /// Ends every session of an account and forgets the devices trusted for it.
    RevokeSessions {
        /// Login name of the account.
        #[arg(long)]
        username: String,
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
    telemetry::init(&settings.log.filter, settings.log.format);
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
        Command::Backup { file } => backup(&settings, &file).await,
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
        Command::Staff { command } => staff(&settings, command).await,
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
            let applied = db.migrate_up().await?;
            println!("migrations applied: {applied}");
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

async fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    if !settings.database.url.expose().starts_with("sqlite:") {
        eprintln!(
            "mati: backup copies a SQLite database; back PostgreSQL up with \
             pg_dump --format=custom (README, \"Backups\")"
        );
        return Ok(ExitCode::from(2));
    }
    // Anything at the path, even a dangling link, is refused: a backup never replaces a file.
    if file.symlink_metadata().is_ok() {
        eprintln!("mati: {} exists; backup never overwrites a file", file.display());
        return Ok(ExitCode::from(2));
    }
    let db = app::connect(settings).await?;
    db.backup_sqlite(file).await?;
    let bytes = std::fs::metadata(file)?.len();
    println!("wrote {} ({bytes} bytes): the whole database as of now", file.display());
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
        parsed.files,
        parsed.blank,
        parsed.valid(),
        parsed.defects.len()
    )?;
    drop(out);
    let db = app::connect(settings).await?;
    db.migrate_up().await?;
    match &parsed.centres {
        Some(centres) => println!(
            "importing {} units and {} commune centres in one transaction",
            parsed.units.len(),
            centres.len()
        ),
        None => println!("importing {} units in one transaction", parsed.units.len()),
    }
    let report = import::import(&db, &parsed, &provenance).await?;
    println!(
        "imported: {} added, {} changed, {} unchanged, {} removed (source {} {})",
        report.added, report.changed, report.unchanged, report.removed, provenance.source, provenance.version
    );
    match report.centres {
        Some(centres) => {
            let communes = parsed.units.iter().filter(|u| u.level == AdminLevel::Commune).count();
            println!(
                "commune centres: {centres} imported, replacing those stored; {} communes have none",
                communes.saturating_sub(centres)
            );
        }
        None => println!(
            "commune centres: no {} in the directory, those stored are kept",
            source::CENTRES_FILE
        ),
    }
    if strict && !parsed.defects.is_empty() {
        eprintln!("mati: --strict: {} defective lines", parsed.defects.len());
        return Ok(ExitCode::from(EXIT_DEFECTS));
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line is trusted like an administrator: it is how the first one is made.
/// Its id matches no account, so it may change any.
fn operator() -> Principal {
    Principal::Staff(StaffAccount {
        id: StaffId::new(0),
        username: "command-line".into(),
        role: Role::Admin,
        unit: None,
        disabled: false,
    })
}

/// One line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_owned())
}

fn describe(account: &StaffAccount) -> String {
    let unit = account
        .unit
        .as_ref()
        .map(|u| format!(" of unit {u}"))
        .unwrap_or_default();
    let disabled = if account.disabled { " (disabled)" } else { "" };
    format!("{} {}{unit}{disabled}", account.role.as_str(), account.username)
}

fn sessions(n: u64) -> String {
    format!("{n} session{}", if n == 1 { "" } else { "s" })
}

async fn staff(settings: &Settings, command: StaffCommand) -> anyhow::Result<ExitCode> {
    let password = match &command {
        StaffCommand::Add { .. } | StaffCommand::Update { password: true, .. } => Some(read_password()?),
        _ => None,
    };
    let db = app::connect(settings).await?;
    mati_infra::bootstrap::prepare(&db).await?;
    let mati = app::command_services(db)?;
    let operator = operator();
    let outcome = match command {
        StaffCommand::Add { role, username, unit } => mati
            .create_staff_account(
                &operator,
                &username,
                password.as_deref().unwrap_or_default(),
                role,
                unit.as_deref(),
            )
            .await
            .map(|account| format!("created {} (id {})", describe(&account), account.id)),
        StaffCommand::Update {
            username,
            disable,
            enable,
            role,
            unit,
            ..
        } => {
            let update = StaffUpdate {
                disabled: (disable || enable).then_some(disable),
                password,
                role,
                unit_code: unit,
            };
            mati.update_staff_account(&operator, &username, update)
                .await
                .map(|updated| {
                    format!(
                        "updated {}; {} ended",
                        describe(&updated.account),
                        sessions(updated.sessions_ended)
                    )
                })
        }
        StaffCommand::RevokeSessions { username } => mati
            .revoke_staff_sessions(&operator, &username)
            .await
            .map(|ended| format!("ended {} of {username}", sessions(ended))),
    };
    match outcome {
        Ok(done) => {
            println!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        Err(DomainError::InvalidInput { field, message, .. }) => {
            eprintln!("mati: {field}: {message}");
            Ok(ExitCode::from(2))
        }
        Err(err @ DomainError::NotFound(_)) => {
            eprintln!("mati: {err}");
            Ok(ExitCode::from(2))
        }
        Err(err) => Err(anyhow::anyhow!("{err}")),
    }
}
