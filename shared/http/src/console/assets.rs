//! The console's files, embedded at compile time.

/// One embedded file.
pub struct Asset {
    /// File name under `/console/<version>/`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The page; `{{VERSION}}` and `{{WS_URL}}` are filled in at start-up.
pub const INDEX_HTML: &str = include_str!("assets/index.html");

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("assets/", $name)) }
    };
}

/// Every file the page loads.
pub const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("live.js", JS),
    asset!("ui.js", JS),
    asset!("chart.js", JS),
    asset!("signin.js", JS),
    asset!("agent.js", JS),
    asset!("floor.js", JS),
    asset!("leads.js", JS),
    asset!("imports.js", JS),
    asset!("dnc.js", JS),
    asset!("users.js", JS),
    asset!("calls.js", JS),
    asset!("settings.js", JS),
];
