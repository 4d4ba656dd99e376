//! Who may do what: a bearer token per role, compared in constant time (as SHA-256 digests,
//! so neither the content nor the length of a token shows in the time taken); `--open` lets
//! requests without a token act with the roles it names.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::problem::Problem;

/// What a request may do. A clerk sells and reads the catalog; an owner reads analytics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Role {
    Clerk,
    Owner,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Owner => "owner",
        }
    }
}

/// The tokens the server knows and the roles open to requests without one.
#[derive(Clone, Default)]
pub struct Access {
    /// The tokens' SHA-256 digests: a presented token is compared digest to digest.
    clerk_token: Option<[u8; 32]>,
    owner_token: Option<[u8; 32]>,
    open: Vec<Role>,
}

impl Access {
    /// Empty tokens count as none (an empty `ICASH_API_CLERK_TOKEN=` must not let an empty
    /// bearer in).
    pub fn new(
        clerk_token: Option<String>,
        owner_token: Option<String>,
        open: Vec<Role>,
    ) -> Access {
        let token = |t: Option<String>| {
            t.filter(|t| !t.trim().is_empty())
                .map(|t| digest(t.as_bytes()))
        };
        Access {
            clerk_token: token(clerk_token),
            owner_token: token(owner_token),
            open,
        }
    }

    pub fn open_roles(&self) -> &[Role] {
        &self.open
    }

    pub fn has_token(&self, role: Role) -> bool {
        self.token(role).is_some()
    }

    /// True when the clerk's and the owner's tokens are the same: each would then open both
    /// roles, which `serve` refuses.
    pub fn tokens_are_shared(&self) -> bool {
        match (&self.clerk_token, &self.owner_token) {
            (Some(clerk), Some(owner)) => bool::from(clerk.ct_eq(owner)),
            _ => false,
        }
    }

    fn token(&self, role: Role) -> Option<&[u8; 32]> {
        match role {
            Role::Clerk => self.clerk_token.as_ref(),
            Role::Owner => self.owner_token.as_ref(),
        }
    }

    /// Ok when the request may act as `role`: its bearer token is that role's, or it has no
    /// token and the role is open. A token that is not the role's is refused even when the
    /// role is open (a client that sends the wrong token learns of it).
    pub fn require(&self, headers: &HeaderMap, role: Role) -> Result<(), Problem> {
        self.require_any(headers, &[role])
    }

    pub fn require_any(&self, headers: &HeaderMap, roles: &[Role]) -> Result<(), Problem> {
        let needed = roles
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(" or ");
        let Some(value) = headers.get(AUTHORIZATION) else {
            return if roles.iter().any(|r| self.open.contains(r)) {
                Ok(())
            } else {
                Err(Problem::unauthorized())
            };
        };
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| digest(token.trim().as_bytes()))
            })
            .ok_or_else(Problem::unauthorized)?;
        let holds = |role: Role| {
            self.token(role)
                .is_some_and(|known| bool::from(known.ct_eq(&presented)))
        };
        if roles.iter().any(|r| holds(*r)) {
            Ok(())
        } else if [Role::Clerk, Role::Owner].into_iter().any(holds) {
            Err(Problem::forbidden(&needed))
        } else {
            Err(Problem::unauthorized())
        }
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn each_token_opens_its_own_role_only() {
        let access = Access::new(Some("c-secret".into()), Some("o-secret".into()), vec![]);
        assert!(access.require(&bearer("c-secret"), Role::Clerk).is_ok());
        assert_eq!(
            access
                .require(&bearer("c-secret"), Role::Owner)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            access
                .require(&bearer("c-secre"), Role::Clerk)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            access
                .require(&HeaderMap::new(), Role::Clerk)
                .unwrap_err()
                .status,
            401
        );
        assert!(
            access
                .require_any(&bearer("o-secret"), &[Role::Clerk, Role::Owner])
                .is_ok()
        );
    }

    #[test]
    fn an_empty_token_is_no_token_and_open_roles_need_none() {
        let access = Access::new(Some(String::new()), None, vec![Role::Owner]);
        assert_eq!(
            access.require(&bearer(""), Role::Clerk).unwrap_err().status,
            401
        );
        assert!(access.require(&HeaderMap::new(), Role::Owner).is_ok());
        assert_eq!(
            access
                .require(&HeaderMap::new(), Role::Clerk)
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn the_same_token_for_both_roles_is_noticed() {
        let shared = Access::new(Some("same".into()), Some("same".into()), vec![]);
        assert!(shared.tokens_are_shared());
        let distinct = Access::new(Some("clerk".into()), Some("owner".into()), vec![]);
        assert!(!distinct.tokens_are_shared());
        assert!(!Access::new(Some("clerk".into()), None, vec![]).tokens_are_shared());
    }
}
