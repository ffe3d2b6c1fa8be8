//! `serve --demo`: an admin and three salespeople, 200 sample leads whose
//! zones are inside the calling window now (imported through the upload
//! route), simulated salespeople online over the real WebSocket API, a fast
//! simulator, and a live summary line.

pub mod agent;
pub mod leads;
pub mod summary;

use ibrat_domain::UserId;
use ibrat_services::auth::{self, AuthError, EnsureAdmin};
use ibrat_services::repo;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use twilio_sim::{Phone, SimConfig};

use crate::client::{ApiClient, ClientError};
use crate::import_cmd::{self, ImportError, ImportSummary};
use crate::system::RunningSystem;

/// The demo admin's email.
pub const ADMIN_EMAIL: &str = "admin@demo.ibrat";
/// The password of every demo user.
pub const PASSWORD: &str = "demo-password";
/// How many sample leads the demo imports.
pub const LEADS: usize = 200;

/// The demo salespeople: email, name, phone the simulator rings.
pub const SALESPEOPLE: [(&str, &str, &str); 3] = [
    ("aziza@demo.ibrat", "Aziza", "+998901110001"),
    ("bekzod@demo.ibrat", "Bekzod", "+998901110002"),
    ("dilshod@demo.ibrat", "Dilshod", "+998901110003"),
];

/// A salesperson the demo does not simulate: sign in as them in the
/// console to take calls yourself.
pub const CONSOLE_SALESPERSON: (&str, &str, &str) = ("sevara@demo.ibrat", "Sevara", "+998901110004");

/// Why the demo could not be set up; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo admin could not be created: {0}")]
    Admin(#[from] AuthError),
    #[error("this data directory already has another admin; run the demo with a fresh --data-dir")]
    OtherAdmin,
    #[error("the demo could not read the settings: {0}")]
    Store(#[from] ibrat_ports::StoreError),
    #[error("no time zone is inside the calling window right now, so demo leads would only wait; try again later")]
    WindowClosed,
    #[error("the demo could not talk to its own server: {0}")]
    Client(#[from] ClientError),
    #[error("the demo leads could not be imported: {0}")]
    Import(#[from] ImportError),
}

/// The simulator's behaviour in the demo: calls play out twenty times faster.
pub fn sim_config() -> SimConfig {
    let config = SimConfig { seed: rand::random(), time_scale: 0.05, ..SimConfig::default() };
    // The salespeople's phones answer their session's call and stay on the line.
    SALESPEOPLE.iter().fold(config, |c, (_, _, phone)| c.with_phone(*phone, Phone::Stays))
}

/// Sets the demo up on a running system, prints the logins and the import
/// summary, and starts the salespeople and the live line (they stop with
/// the system).
pub async fn start(system: &RunningSystem) -> Result<Vec<JoinHandle<()>>, DemoError> {
    let deps = &system.deps;
    let admin_id = match auth::ensure_admin(deps, ADMIN_EMAIL, PASSWORD, "Demo Admin").await? {
        EnsureAdmin::Created(id) => id,
        EnsureAdmin::AlreadyPresent | EnsureAdmin::EmailInUse => existing_admin(system).await?,
    };
    let admin = ApiClient::login(&system.base_url(), ADMIN_EMAIL, PASSWORD).await?;
    for (email, name, phone) in SALESPEOPLE.into_iter().chain([CONSOLE_SALESPERSON]) {
        register_salesperson(&admin, email, name, phone).await?;
    }

    let settings = repo::settings::get(deps.store.as_ref()).await?;
    let zones = leads::open_zones(&settings.calling_window, deps.clock.now());
    if zones.is_empty() {
        return Err(DemoError::WindowClosed);
    }
    // Sample leads go into a data directory with no leads only, so
    // restarting the demo carries on with the same floor.
    let existing: Value = admin.get("/api/leads?limit=1").await?;
    let first_run = existing["items"].as_array().is_none_or(|items| items.is_empty());
    let imported = if first_run {
        let sample = leads::generate(LEADS, &zones, &mut rand::thread_rng());
        Some(import_cmd::upload(&admin, leads::to_csv(&sample), |_| {}).await?)
    } else {
        None
    };
    print_intro(&system.base_url(), imported.as_ref(), &zones);

    let stopping = system.stopping();
    let mut tasks = Vec::new();
    for (email, _, _) in SALESPEOPLE {
        let agent = agent::Agent {
            base_url: system.base_url(),
            ws_url: system.ws_url(),
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        };
        tasks.push(tokio::spawn(agent.run(stopping.clone())));
    }
    tasks.push(tokio::spawn(summary::run(deps.clone(), admin_id, stopping)));
    Ok(tasks)
}

/// The demo admin of an earlier run on this data directory.
async fn existing_admin(system: &RunningSystem) -> Result<UserId, DemoError> {
    let email = ibrat_domain::Email::parse(ADMIN_EMAIL).map_err(|e| AuthError::Validation(e.to_string()))?;
    match repo::users::get_by_email(system.deps.store.as_ref(), &email).await? {
        Some(r) if r.user.role == ibrat_domain::Role::Admin && r.user.active => Ok(r.user.id),
        _ => Err(DemoError::OtherAdmin),
    }
}

/// Creates a salesperson through the API; one left by an earlier run is kept.
async fn register_salesperson(admin: &ApiClient, email: &str, name: &str, phone: &str) -> Result<(), DemoError> {
    let body = json!({ "email": email, "password": PASSWORD, "name": name, "role": "salesperson", "phone": phone });
    match admin.post::<Value>("/api/auth/register", &body).await {
        Ok(_) => Ok(()),
        Err(ClientError::Refused { status: StatusCode::CONFLICT, .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn print_intro(base_url: &str, imported: Option<&ImportSummary>, zones: &[&str]) {
    println!("Console: {base_url}/  Demo logins (password `{PASSWORD}` for everyone):");
    println!("  admin        {ADMIN_EMAIL}");
    let (email, name, _) = CONSOLE_SALESPERSON;
    println!("  salesperson  {email} ({name}: yours to try; on the console, Start session, then Ready)");
    for (email, name, _) in SALESPEOPLE {
        println!("  salesperson  {email} ({name}, simulated)");
    }
    match imported {
        Some(imported) => println!(
            "Imported {} of {} sample leads ({} duplicates) in zones open now: {}",
            imported.imported,
            imported.rows,
            imported.duplicates,
            zones.join(", ")
        ),
        None => println!("Carrying on with the leads of the earlier demo run on this data directory."),
    }
    println!("Three simulated salespeople are coming online; the line below refreshes every two seconds.");
}
