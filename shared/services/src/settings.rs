//! Admin settings: read and replace, validated before they are stored.

use ibrat_domain::{Settings, SettingsError};
use ibrat_ports::StoreError;

use crate::auth::Actor;
use crate::context::Deps;
use crate::repo::settings as repo;

/// Failures of settings operations.
#[derive(Debug, thiserror::Error)]
pub enum SettingsUpdateError {
    #[error("{0}")]
    Forbidden(String),
    /// A rule was broken; carries the field and why.
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::auth::AdminOnly> for SettingsUpdateError {
    fn from(e: crate::auth::AdminOnly) -> Self {
        SettingsUpdateError::Forbidden(e.to_string())
    }
}

/// The current settings (defaults until an admin saves some).
pub async fn get(deps: &Deps, actor: &Actor) -> Result<Settings, SettingsUpdateError> {
    actor.require_admin()?;
    Ok(repo::get(deps.store.as_ref()).await?)
}

/// Replaces the settings after [`Settings::validate`] passes.
pub async fn put(deps: &Deps, actor: &Actor, settings: Settings) -> Result<Settings, SettingsUpdateError> {
    actor.require_admin()?;
    settings.validate()?;
    repo::put(deps.store.as_ref(), &settings).await?;
    tracing::info!(by = %actor.id, "settings saved");
    Ok(settings)
}
