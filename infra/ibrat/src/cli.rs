//! The command line: flags, and the dispatch from a parsed command to the
//! module that does the work. Every failure comes back as one [`CliError`]
//! whose message is one plain sentence.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::admin_cmd::{self, AdminCreated, AdminError};
use crate::backup_cmd::{self, BackupError};
use crate::config::{self, LocalConfigError};
use crate::demo::DemoError;
use crate::import_cmd::{self, ImportError};
use crate::restore_cmd::{self, RestoreError};
use crate::serve_cmd;
use crate::system::StartError;

/// The Ibrat Dialer on one machine.
#[derive(Debug, Parser)]
#[command(
    name = "ibrat",
    version,
    about = "The Ibrat Dialer in one process: serve, import leads, create admins, back up and restore."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs every function in one process (REST, WebSocket, Twilio callbacks, dialer, scheduler).
    Serve(ServeArgs),
    /// Creates the first admin in a data directory (stop `serve` first).
    CreateAdmin(CreateAdminArgs),
    /// Uploads a CSV of leads to a running server and prints a summary.
    Import(ImportArgs),
    /// Copies a running server's data (database and files) into a new folder, consistently, while it serves.
    Backup(BackupArgs),
    /// Puts a backup into a data directory no server is using.
    Restore(RestoreArgs),
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Folder for the database, uploads and the generated JWT secret.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Adds demo users, 200 sample leads and simulated salespeople.
    #[arg(long)]
    pub demo: bool,
    /// Switches on every fault of the Twilio simulator at the rates the
    /// README lists (duplicated, delayed, reordered and dropped callbacks,
    /// creates that time out after placing the call, 5xx answers).
    #[arg(long)]
    pub chaos: bool,
}

/// Flags of `create-admin`.
#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    #[arg(long)]
    pub email: String,
    /// At least 10 characters.
    #[arg(long)]
    pub password: String,
    /// The data directory `serve` uses.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file of leads.
    pub file: PathBuf,
    #[command(flatten)]
    pub login: ServerLogin,
}

/// Where a command that talks to a running server signs in.
#[derive(Debug, Args)]
pub struct ServerLogin {
    /// The running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// An admin's email to sign in with.
    #[arg(long, env = "IBRAT_ADMIN_EMAIL")]
    pub email: Option<String>,
    /// That admin's password.
    #[arg(long, env = "IBRAT_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// Flags of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The folder to write the backup into (new or empty).
    pub dir: PathBuf,
    #[command(flatten)]
    pub login: ServerLogin,
}

/// Flags of `restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A folder written by `ibrat backup`.
    pub dir: PathBuf,
    /// The data directory to restore into (its server must be stopped).
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Overwrites the database already in the data directory.
    #[arg(long)]
    pub replace: bool,
}

/// Why a command failed; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] LocalConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("the async runtime could not start: {0}")]
    Runtime(std::io::Error),
}

/// Runs a parsed command to completion. Configuration is read before the
/// runtime starts its threads (see [`config::load_from_env`]).
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => {
            let (config, twilio) = config::load_from_env(&args.data_dir)?;
            init_tracing(if args.demo { "warn,ibrat::demo=info" } else { "info" });
            runtime()?.block_on(serve_cmd::serve(args, config, twilio))
        }
        Command::CreateAdmin(args) => {
            let (config, _) = config::load_from_env(&args.data_dir)?;
            init_tracing("warn");
            let created =
                runtime()?.block_on(admin_cmd::create_admin(&args.data_dir, config, &args.email, &args.password))?;
            match created {
                AdminCreated::Created => println!("Created the admin {}.", args.email),
                AdminCreated::AlreadyAdmin => println!("{} is already an admin; nothing changed.", args.email),
            }
            Ok(())
        }
        Command::Import(args) => {
            init_tracing("warn");
            let summary = runtime()?.block_on(import_cmd::run(&args))?;
            print!("{}", import_cmd::render_summary(&summary));
            Ok(())
        }
        Command::Backup(args) => {
            init_tracing("warn");
            let summary = runtime()?.block_on(backup_cmd::run(
                &args.dir,
                &args.login.server,
                args.login.email.as_deref(),
                args.login.password.as_deref(),
            ))?;
            println!("Backed up {} files ({} bytes) into {}.", summary.files, summary.bytes, args.dir.display());
            Ok(())
        }
        Command::Restore(args) => {
            let summary = restore_cmd::run(&args.dir, &args.data_dir, args.replace)?;
            println!("Restored {} files into {}.", summary.files, args.data_dir.display());
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(CliError::Runtime)
}

/// Logs to stderr, filtered by `RUST_LOG` or `default` (libraries kept quiet).
fn init_tracing(default: &str) {
    // The scheduler logs every tick; local mode ticks every few seconds.
    let quiet = "ibrat_services::dialing::scheduler=warn,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,rustls=warn,tower_http=warn,tungstenite=warn";
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},{quiet}")));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(ansi).with_env_filter(filter).init();
}
