//! Users as tests want them: salespeople idle since an instant, admins,
//! offline users, salespeople on an open line; stored straight into the
//! table.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use ibrat_domain::{AgentSession, Availability, Email, LineState, Phone, Region, Role, User, UserId};
use ibrat_ports::Store;
use ibrat_services::auth::password;
use ibrat_services::repo::sessions;
use ibrat_services::repo::users::{self, UserRecord};

use crate::time::ms;

/// The password of every user built with [`UserBuilder::with_password`].
pub const PASSWORD: &str = "correct-horse-battery";

/// One argon2 hash of [`PASSWORD`], computed once (hashing is slow).
pub fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash_blocking(PASSWORD).expect("the test password hashes")).clone()
}

/// A hash no password matches, for users who never sign in.
const NO_PASSWORD: &str = "$argon2id$test";

/// Builds a [`User`] and its stored record.
#[derive(Debug, Clone)]
pub struct UserBuilder {
    user: User,
    password_hash: String,
}

/// Salesperson `n`: "Sales n", `sales<n>@example.com`, phone `+99891<n>`,
/// available since `since` (the longest idle is offered calls first).
pub fn salesperson(n: u32, since: DateTime<Utc>) -> UserBuilder {
    UserBuilder::new(&format!("sales{n}@example.com"), Role::Salesperson, since)
        .name(&format!("Sales {n}"))
        .phone(&format!("+99891{n:07}"))
        .availability(Availability::Available)
}

/// An offline user with this email and role, created at `at`; the name is
/// the email's local part.
pub fn user(email: &str, role: Role, at: DateTime<Utc>) -> UserBuilder {
    UserBuilder::new(email, role, at)
}

impl UserBuilder {
    fn new(email: &str, role: Role, at: DateTime<Utc>) -> Self {
        let at = ms(at);
        let user = User {
            id: UserId::new(),
            name: email.split('@').next().unwrap_or("user").to_owned(),
            email: Email::parse(email).unwrap_or_else(|e| panic!("test email {email}: {e}")),
            phone: None,
            role,
            active: true,
            availability: Availability::Offline,
            availability_since: at,
            created_at: at,
            updated_at: at,
        };
        UserBuilder { user, password_hash: NO_PASSWORD.into() }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.user.name = name.to_owned();
        self
    }

    /// A phone number in E.164 (or national Uzbek) form.
    pub fn phone(mut self, phone: &str) -> Self {
        self.user.phone = Some(Phone::parse(phone, Region::default()).unwrap_or_else(|e| panic!("{phone}: {e}")));
        self
    }

    pub fn no_phone(mut self) -> Self {
        self.user.phone = None;
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.user.email = Email::parse(email).unwrap_or_else(|e| panic!("test email {email}: {e}"));
        self
    }

    /// Availability as of the builder's instant.
    pub fn availability(mut self, availability: Availability) -> Self {
        self.user.availability = availability;
        self
    }

    /// When availability last changed (idle since, for the available).
    pub fn since(mut self, at: DateTime<Utc>) -> Self {
        self.user.availability_since = ms(at);
        self
    }

    pub fn inactive(mut self) -> Self {
        self.user.active = false;
        self
    }

    /// Signs in with [`PASSWORD`].
    pub fn with_password(mut self) -> Self {
        self.password_hash = password_hash();
        self
    }

    pub fn build(&self) -> User {
        self.user.clone()
    }

    pub fn record(&self) -> UserRecord {
        UserRecord { user: self.user.clone(), password_hash: self.password_hash.clone() }
    }

    /// Stores the user; returns it.
    pub async fn store(self, store: &dyn Store) -> User {
        users::create(store, &self.record()).await.expect("the test user is stored");
        self.user
    }
}

/// Gives `user` an agent session whose line has been up since `up_since`
/// (their phone answered and their leg is in their room), so routing may
/// give them calls. The leg's SID is `agent_sid`.
pub async fn open_line(store: &dyn Store, user: &UserId, up_since: DateTime<Utc>, agent_sid: &str) -> AgentSession {
    let up_since = ms(up_since);
    let mut session = AgentSession::connecting(user.clone(), up_since - chrono::Duration::seconds(5));
    session.line = LineState::Up;
    session.line_up_at = Some(up_since);
    session.agent_call_sid = Some(agent_sid.to_owned());
    store.put(sessions::to_item(&session), None).await.expect("the test session is stored");
    session
}
