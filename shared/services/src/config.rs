//! Deployment configuration, read once at start and checked.

use ibrat_domain::Region;
use std::time::Duration;

use crate::secret::Secret;

/// Why the configuration is unusable; the process refuses to start.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Default of [`Config::import_stale_after`]: 20 minutes.
pub const DEFAULT_IMPORT_STALE_SECS: u64 = 20 * 60;
/// Default of [`Config::import_max_resumes`].
pub const DEFAULT_IMPORT_MAX_RESUMES: u64 = 3;

/// Default of [`Config::dial_budget`]: 40 seconds, 20 under the dialer's timeout.
pub const DEFAULT_DIAL_BUDGET_SECS: u64 = 40;

/// Settings that come from the deployment, not from admins.
#[derive(Debug, Clone)]
pub struct Config {
    /// Region for phone numbers written without a country code.
    pub default_region: Region,
    /// HS256 key for access tokens.
    pub jwt_secret: Secret,
    /// Lifetime of access tokens (15 minutes by default).
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Base URL Twilio calls back (`https://host`), also the URL request
    /// signatures are computed over. No trailing slash.
    pub public_url: String,
    /// Twilio auth token, to check webhook signatures.
    pub twilio_auth_token: Secret,
    /// The caller id used when settings name none.
    pub twilio_from: String,
    /// Largest accepted CSV upload, bytes.
    pub import_max_bytes: u64,
    /// Most rows one import may hold.
    pub import_max_rows: u64,
    /// A running import with no progress for this long has lost its runner:
    /// the scheduler's sweep resumes or fails it. Longer than the csv-import
    /// function's timeout (15 minutes), so no live run is taken for dead.
    pub import_stale_after: Duration,
    /// Times the sweep resumes one import before failing it for good.
    pub import_max_resumes: u64,
    /// How long the dialer function may spend placing one batch's calls
    /// (call-rate waits, Twilio requests and their retries): well inside
    /// its 60-second timeout.
    pub dial_budget: Duration,
    /// A salesperson silent for longer than this is not routed calls.
    pub presence_timeout: Duration,
    /// Allowed CORS origins (empty: none).
    pub cors_origins: Vec<String>,
}

impl Config {
    /// Sensible values for tests and the local demo.
    pub fn for_tests() -> Self {
        Config {
            default_region: Region::default(),
            jwt_secret: Secret::new("test-secret-test-secret-test-secret!"),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            public_url: "http://127.0.0.1:0".into(),
            twilio_auth_token: Secret::new("test-auth-token"),
            twilio_from: "+998712000000".into(),
            import_max_bytes: 200 * 1024 * 1024,
            import_max_rows: 2_000_000,
            import_stale_after: Duration::from_secs(DEFAULT_IMPORT_STALE_SECS),
            import_max_resumes: DEFAULT_IMPORT_MAX_RESUMES,
            dial_budget: Duration::from_secs(DEFAULT_DIAL_BUDGET_SECS),
            presence_timeout: Duration::from_secs(90),
            cors_origins: Vec::new(),
        }
    }

    /// Reads `IBRAT_*` and `TWILIO_*` variables (see README). The JWT secret
    /// is required and must be at least 32 bytes.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let num = |k: &str, default: u64| -> Result<u64, ConfigError> {
            match var(k) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| ConfigError(format!("{k} must be a whole number, got `{v}`"))),
            }
        };
        let jwt = var("IBRAT_JWT_SECRET").ok_or_else(|| ConfigError("IBRAT_JWT_SECRET is not set".into()))?;
        if jwt.len() < 32 {
            return Err(ConfigError("IBRAT_JWT_SECRET must be at least 32 characters".into()));
        }
        let region = match var("IBRAT_DEFAULT_REGION") {
            Some(r) => Region::parse(&r).map_err(|e| ConfigError(e.to_string()))?,
            None => Region::default(),
        };
        Ok(Config {
            default_region: region,
            jwt_secret: Secret::new(jwt),
            access_ttl: Duration::from_secs(num("IBRAT_ACCESS_TTL_SECS", 15 * 60)?),
            refresh_ttl: Duration::from_secs(num("IBRAT_REFRESH_TTL_SECS", 30 * 24 * 3600)?),
            public_url: var("IBRAT_PUBLIC_URL").unwrap_or_default().trim_end_matches('/').to_owned(),
            twilio_auth_token: Secret::new(var("TWILIO_AUTH_TOKEN").unwrap_or_default()),
            twilio_from: var("TWILIO_FROM_NUMBER").unwrap_or_default(),
            import_max_bytes: num("IBRAT_IMPORT_MAX_BYTES", 200 * 1024 * 1024)?,
            import_max_rows: num("IBRAT_IMPORT_MAX_ROWS", 2_000_000)?,
            import_stale_after: Duration::from_secs(
                num("IBRAT_IMPORT_STALE_SECS", DEFAULT_IMPORT_STALE_SECS)?.clamp(60, 7 * 24 * 3600),
            ),
            import_max_resumes: num("IBRAT_IMPORT_MAX_RESUMES", DEFAULT_IMPORT_MAX_RESUMES)?,
            dial_budget: Duration::from_secs(num("IBRAT_DIAL_BUDGET_SECS", DEFAULT_DIAL_BUDGET_SECS)?.clamp(15, 840)),
            presence_timeout: Duration::from_secs(num("IBRAT_PRESENCE_TIMEOUT_SECS", 90)?),
            cors_origins: var("IBRAT_CORS_ORIGINS")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
        })
    }
}
