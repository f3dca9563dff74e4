//! The `intercoop` command: serve, init, migrate, admin.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use intercoop::config::{Config, LogFormat, DEFAULT_CONFIG_PATH, TEMPLATE};
use intercoop::server;
use intercoop::service::accounts::{self, NewAccount};
use intercoop::service::types::UserRole;
use intercoop::service::Ctx;

/// mimalloc instead of glibc's malloc: under a busy inbox glibc's spent
/// about a sixth of the server's CPU allocating and freeing (a request's
/// buffers are often freed on another worker thread than the one that
/// allocated them, which glibc's per-thread arenas handle with locks and
/// returned memory it then asked the kernel for again). Measured in
/// docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "intercoop",
    version,
    about = "A federated ActivityPub server for co-operatives"
)]
struct Cli {
    /// Configuration file (default: ./intercoop.toml if it exists).
    #[arg(long, global = true, env = "INTERCOOP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database; prints a setup link on first run).
    Serve,
    /// Write a commented configuration file.
    Init {
        /// Where to write it.
        #[arg(long, default_value = DEFAULT_CONFIG_PATH)]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// Instead, revert the last N migrations (to run an older version
        /// again; back up first: what the reverted tables held is lost).
        #[arg(long, value_name = "N")]
        revert: Option<usize>,
    },
    /// Manage accounts from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account; prints a generated password unless --password is given.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// admin, moderator, editor or member.
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long, env = "INTERCOOP_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password (generated unless --password is given) and end the user's sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "INTERCOOP_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Create an API token for a user; it is printed once.
    CreateToken {
        #[arg(long)]
        username: String,
        /// What the token is for, e.g. the app that will use it.
        #[arg(long)]
        name: String,
    },
    /// List accounts.
    ListUsers,
    /// List active API tokens (id, owner, name, last use); never the secrets.
    ListTokens {
        /// Only this user's tokens.
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke an API token by the id `list-tokens` shows; it stops working at once.
    RevokeToken {
        /// The token's id.
        id: i64,
    },
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("INTERCOOP_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},intercoop={level},tower_http=info,diesel=warn,activitypub_federation=info",
            level = config.log_level
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Init { path, force } = &cli.command {
        return init(path, *force);
    }
    let (path, required) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    let config = match Config::load(&path, required) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&config);
    // Migrations drive an async connection from blocking code, which needs
    // the multi-thread runtime.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn init(path: &PathBuf, force: bool) -> ExitCode {
    if path.exists() && !force {
        eprintln!(
            "error: {} already exists; use --force to overwrite it, or --path to write elsewhere",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    match std::fs::write(path, TEMPLATE) {
        Ok(()) => {
            println!("Wrote {}. Edit it, then run `intercoop serve`.", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    match command {
        Command::Init { .. } => unreachable!("handled before the runtime starts"),
        Command::Serve => {
            let started = std::time::Instant::now();
            let listen = config.listen;
            let base = config.base_url.clone();
            let prepared = server::prepare(config).await.map_err(|e| e.to_string())?;
            let listener = server::bind(listen).await.map_err(|e| e.to_string())?;
            tracing::info!(%listen, elapsed_ms = started.elapsed().as_millis() as u64, "Intercoop is ready");
            println!("Intercoop is running at {base} (listening on {listen}).");
            if let Some(link) = &prepared.setup_link {
                println!();
                println!("This co-op is not set up yet. Open this one-time link to name it and create the first admin:");
                println!();
                println!("    {link}");
                println!();
            }
            server::serve(prepared, listener, server::shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate { revert } => {
            server::init_tls();
            let db = intercoop::db::Db::connect(&config.database_url, 1)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(steps) = revert {
                let n = db.revert(steps).await.map_err(|e| e.to_string())?;
                println!("Database {}: {n} migration(s) reverted.", db.display_url());
                return Ok(());
            }
            let n = db.migrate().await.map_err(|e| e.to_string())?;
            println!(
                "Database {} is up to date ({n} migration(s) applied).",
                db.display_url()
            );
            Ok(())
        }
        Command::Admin(cmd) => {
            let db = server::connect(&config).await.map_err(|e| e.to_string())?;
            let ctx = Ctx::new(db, config);
            admin(&ctx, cmd).await
        }
    }
}

async fn admin(ctx: &Ctx, cmd: AdminCommand) -> Result<(), String> {
    match cmd {
        AdminCommand::CreateUser {
            username,
            email,
            role,
            password,
        } => {
            let role = UserRole::parse(&role).map_err(|e| e.to_string())?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(intercoop::crypto::generate_password);
            let user = accounts::create_user(
                ctx,
                NewAccount {
                    username,
                    email,
                    display_name: String::new(),
                    password: password.clone(),
                    role,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("Created {} ({}).", user.username, user.role);
            if generated {
                println!("Password: {password}");
            }
            Ok(())
        }
        AdminCommand::ResetPassword { username, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(intercoop::crypto::generate_password);
            accounts::reset_password(ctx, &username, &password)
                .await
                .map_err(|e| e.to_string())?;
            println!("New password set for {username}; their open sessions are ended.");
            if generated {
                println!("Password: {password}");
            }
            Ok(())
        }
        AdminCommand::CreateToken { username, name } => {
            let token = accounts::create_api_token(ctx, &username, &name)
                .await
                .map_err(|e| e.to_string())?;
            println!("{token}");
            eprintln!(
                "Keep this token secret: it is shown only once. Send it as `Authorization: Bearer <token>`."
            );
            Ok(())
        }
        AdminCommand::ListTokens { username } => {
            let tokens = accounts::list_tokens(ctx, username.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!("{:<6} {:<20} {:<30} last used", "id", "user", "name");
            for (t, owner) in tokens {
                println!(
                    "{:<6} {:<20} {:<30} {}",
                    t.id,
                    owner,
                    t.name,
                    t.last_used_at
                        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
            Ok(())
        }
        AdminCommand::RevokeToken { id } => {
            let what = accounts::revoke_token(ctx, id).await.map_err(|e| e.to_string())?;
            println!("Revoked token {id}: {what}.");
            Ok(())
        }
        AdminCommand::ListUsers => {
            let users = accounts::list_users(ctx).await.map_err(|e| e.to_string())?;
            println!("{:<6} {:<30} {:<10} last login", "id", "username", "role");
            for u in users {
                println!(
                    "{:<6} {:<30} {:<10} {}",
                    u.id,
                    u.username,
                    u.role,
                    u.last_login_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
            Ok(())
        }
    }
}
