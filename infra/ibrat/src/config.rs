//! Local mode's configuration: the deployment [`Config`] read from the
//! environment, made to work with no environment at all (a JWT secret kept
//! per data directory, the simulator instead of Twilio).

use std::io::Write;
use std::path::{Path, PathBuf};

use ibrat_services::config::ConfigError;
use ibrat_services::{Config, Secret};
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The file in the data directory that holds the generated JWT secret.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

/// The caller id used with the simulator when `TWILIO_FROM_NUMBER` is unset.
pub const SIMULATED_FROM: &str = "+998712000000";

/// Why local mode cannot be configured; each message is one plain sentence.
#[derive(Debug, thiserror::Error)]
pub enum LocalConfigError {
    #[error("the configuration is invalid: {0}")]
    Invalid(#[from] ConfigError),
    #[error("the JWT secret file {path} could not be read or written: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
    #[error("the JWT secret in {0} is shorter than 32 characters; delete it to have a new one generated")]
    SecretTooShort(PathBuf),
    #[error("{0} must be set when TWILIO_ACCOUNT_SID is set (real Twilio needs it)")]
    MissingTwilioSetting(&'static str),
}

/// Which telephony local mode talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSetup {
    /// Real Twilio (`TWILIO_ACCOUNT_SID` set); the auth token is in [`Config`].
    Real { account_sid: String },
    /// The built-in simulator, signing webhooks with the token in [`Config`].
    Simulated,
}

/// Reads the environment into a [`Config`] for local mode. When
/// `IBRAT_JWT_SECRET` is unset, the data directory's secret (generated on
/// first use) is put in the environment first, so this must run before any
/// other thread starts (main calls it before building the runtime).
pub fn load_from_env(data_dir: &Path) -> Result<(Config, TwilioSetup), LocalConfigError> {
    if env("IBRAT_JWT_SECRET").is_none() {
        let secret = jwt_secret_for(data_dir)?;
        // Single-threaded here (see above), so changing the environment is sound.
        std::env::set_var("IBRAT_JWT_SECRET", secret.expose());
    }
    let mut config = Config::from_env()?;
    let twilio = twilio_setup(&mut config, env("TWILIO_ACCOUNT_SID"), env("TWILIO_AUTH_TOKEN"))?;
    Ok((config, twilio))
}

/// Decides between real Twilio and the simulator, checking that real Twilio
/// has everything it needs, and fills in the simulator's token and caller id.
pub fn twilio_setup(
    config: &mut Config,
    account_sid: Option<String>,
    auth_token: Option<String>,
) -> Result<TwilioSetup, LocalConfigError> {
    match account_sid {
        Some(account_sid) => {
            if auth_token.is_none() {
                return Err(LocalConfigError::MissingTwilioSetting("TWILIO_AUTH_TOKEN"));
            }
            if config.twilio_from.is_empty() {
                return Err(LocalConfigError::MissingTwilioSetting("TWILIO_FROM_NUMBER"));
            }
            if config.public_url.is_empty() {
                return Err(LocalConfigError::MissingTwilioSetting("IBRAT_PUBLIC_URL"));
            }
            Ok(TwilioSetup::Real { account_sid })
        }
        None => {
            let token = auth_token.unwrap_or_else(|| random_string(32));
            config.twilio_auth_token = Secret::new(token);
            if config.twilio_from.is_empty() {
                config.twilio_from = SIMULATED_FROM.to_owned();
            }
            Ok(TwilioSetup::Simulated)
        }
    }
}

/// The data directory's JWT secret, generated (48 random characters, owner
/// read-only) on first use, so tokens survive restarts of local mode.
pub fn jwt_secret_for(data_dir: &Path) -> Result<Secret, LocalConfigError> {
    let path = data_dir.join(JWT_SECRET_FILE);
    let io_err = |source| LocalConfigError::SecretFile { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim();
            if secret.len() < 32 {
                return Err(LocalConfigError::SecretTooShort(path));
            }
            Ok(Secret::new(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io_err)?;
            let secret = random_string(48);
            write_private(&path, &secret).map_err(io_err)?;
            Ok(Secret::new(secret))
        }
        Err(e) => Err(io_err(e)),
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// A random alphanumeric string (secrets, simulated auth tokens).
pub fn random_string(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = jwt_secret_for(dir.path()).unwrap();
        let second = jwt_secret_for(dir.path()).unwrap();
        assert_eq!(first.expose().len(), 48);
        assert_eq!(first, second);
    }

    #[test]
    fn a_short_secret_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JWT_SECRET_FILE), "short").unwrap();
        assert!(matches!(jwt_secret_for(dir.path()), Err(LocalConfigError::SecretTooShort(_))));
    }

    #[test]
    fn real_twilio_needs_its_settings() {
        let mut config = Config::for_tests();
        config.public_url = String::new();
        let err = twilio_setup(&mut config, Some("AC1".into()), Some("tok".into())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "IBRAT_PUBLIC_URL must be set when TWILIO_ACCOUNT_SID is set (real Twilio needs it)"
        );
        let err = twilio_setup(&mut config, Some("AC1".into()), None).unwrap_err();
        assert!(matches!(err, LocalConfigError::MissingTwilioSetting("TWILIO_AUTH_TOKEN")));
    }

    #[test]
    fn the_simulator_signs_with_the_configured_token() {
        let mut config = Config::for_tests();
        config.twilio_from = String::new();
        let setup = twilio_setup(&mut config, None, Some("sim-token".into())).unwrap();
        assert_eq!(setup, TwilioSetup::Simulated);
        assert_eq!(config.twilio_auth_token.expose(), "sim-token");
        assert_eq!(config.twilio_from, SIMULATED_FROM);
    }
}
