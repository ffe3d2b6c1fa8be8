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

fn admin_only(actor: &Actor) -> Result<(), SettingsUpdateError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(SettingsUpdateError::Forbidden("admins only".into()))
    }
}

/// The current settings (defaults until an admin saves some).
pub async fn get(deps: &Deps, actor: &Actor) -> Result<Settings, SettingsUpdateError> {
    admin_only(actor)?;
    Ok(repo::get(deps.store.as_ref()).await?)
}

/// Replaces the settings after [`Settings::validate`] passes.
pub async fn put(deps: &Deps, actor: &Actor, settings: Settings) -> Result<Settings, SettingsUpdateError> {
    admin_only(actor)?;
    settings.validate()?;
    repo::put(deps.store.as_ref(), &settings).await?;
    tracing::info!(by = %actor.id, "settings saved");
    Ok(settings)
}
