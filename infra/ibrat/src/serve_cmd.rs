//! `ibrat serve`: starts local mode, prints where everything is, runs the
//! demo when asked, and shuts down gracefully on Ctrl-C.

use ibrat_services::Config;

use crate::cli::{CliError, ServeArgs};
use crate::config::TwilioSetup;
use crate::demo;
use crate::system::{start, RunningSystem, ServeOptions};

/// Runs the server until Ctrl-C.
pub async fn serve(args: ServeArgs, config: Config, twilio: TwilioSetup) -> Result<(), CliError> {
    let mut options = ServeOptions::new(args.addr, &args.data_dir, config);
    options.twilio = twilio;
    options.admin = admin_from_env();
    if args.demo {
        options.sim = demo::sim_config();
    }
    let system = start(options).await?;
    print_urls(&system, &args);
    let demo_tasks = if args.demo {
        match demo::start(&system).await {
            Ok(tasks) => tasks,
            Err(e) => {
                system.shutdown().await;
                return Err(e.into());
            }
        }
    } else {
        Vec::new()
    };
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "Ctrl-C cannot be caught; stopping now");
    }
    println!("Stopping...");
    system.shutdown().await;
    for task in demo_tasks {
        let _ = task.await;
    }
    Ok(())
}

/// `IBRAT_ADMIN_EMAIL` and `IBRAT_ADMIN_PASSWORD`, when both are set.
fn admin_from_env() -> Option<(String, String)> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    Some((var("IBRAT_ADMIN_EMAIL")?, var("IBRAT_ADMIN_PASSWORD")?))
}

fn print_urls(system: &RunningSystem, args: &ServeArgs) {
    let base = system.base_url();
    println!("Ibrat Dialer is running (Ctrl-C stops it).");
    println!("  Console       {base}/  (open it in a browser)");
    println!("  REST API      {base}/api  (OpenAPI at {base}/api/openapi.json)");
    println!("  WebSocket     {}?token=<access token>", system.ws_url());
    println!("  Twilio hooks  {}/twilio/", system.deps.config.public_url);
    match &system.sim {
        Some(sim) => println!("  Telephony     the built-in Twilio simulator at {}", sim.base_url()),
        None => println!("  Telephony     Twilio"),
    }
    println!("  Data          {}", args.data_dir.display());
}
