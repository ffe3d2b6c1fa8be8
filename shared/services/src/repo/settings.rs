//! The admin settings item.

use ibrat_domain::Settings;
use ibrat_ports::{Item, Store, StoreError};

use super::keys;

/// Reads the settings, or the defaults when none were saved.
pub async fn get(store: &dyn Store) -> Result<Settings, StoreError> {
    match store.get(&keys::settings()).await? {
        None => Ok(Settings::default()),
        Some(item) => {
            let raw = item.s("json").ok_or_else(|| StoreError::Corrupt("settings without json".into()))?;
            serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("settings: {e}")))
        }
    }
}

/// Stores settings (callers validate first).
pub async fn put(store: &dyn Store, settings: &Settings) -> Result<(), StoreError> {
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.put(Item::with_key(&keys::settings()).with("json", json), None).await
}
