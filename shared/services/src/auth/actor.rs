//! Who is asking, and the one role check every admin-only operation makes.

use ibrat_domain::{Role, UserId};

/// Who is asking: the authenticated user and their live role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

impl Actor {
    /// True for admins, who may see and change everything.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Ok for admins; [`AdminOnly`] (a 403 once mapped) for anyone else.
    pub fn require_admin(&self) -> Result<(), AdminOnly> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AdminOnly)
        }
    }
}

/// A salesperson asked for an admin-only operation. Each service error
/// turns it into its `Forbidden` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("admins only")]
pub struct AdminOnly;
