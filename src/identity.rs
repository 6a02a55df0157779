//! Who the caller is in Intercom: the admin id every decision about "me" uses (attribution,
//! conversation access, self rules, the audit line's `adminId`), the teams, and optionally the
//! role.
//!
//! With `identity.source: "token"` (the default) the token's subject claim is the admin id and
//! its `teams` claim the teams, as before. With `"directory"`, Intercom's own teammate directory
//! (`GET /admins`, fetched by the filter with the workspace token, or handed over by the JS
//! package's and the component's caller) is matched with the token's verified email,
//! case-insensitively: the admin id and the teams are the directory's, whatever the token says,
//! so an identity provider needs to carry nothing but the email. With `identity.roles`, the
//! role is the one the workspace gives the teammate in Intercom (2.16's admin `role`), mapped
//! to a policy role. An email the directory does not know, or that two teammates share, is
//! `403 unknown_teammate`; no directory yet is `503 directory_unavailable`.
//!
//! ```
//! use intercom_authz::identity::Directory;
//! let d = Directory::parse(br#"{"type":"admin.list","admins":[
//!     {"type":"admin","id":"991","email":"Ada@Example.com","team_ids":[5],"role":{"type":"role","id":"1","name":"Support Agent"}}
//! ]}"#, 1 << 20).unwrap();
//! let ada = d.find("ada@example.com").unwrap().unwrap();
//! assert_eq!((ada.id.as_str(), ada.teams.as_slice()), ("991", &["5".to_string()][..]));
//! assert_eq!(ada.role_name.as_deref(), Some("Support Agent"));
//! ```

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::format;
use std::rc::Rc;
use std::string::{String, ToString};
use std::vec::Vec;

use serde_json::Value;

use crate::config::{IdentityConfig, IdentitySource};
use crate::eval::{Code, Principal};

/// A teammate as the directory lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teammate {
    /// The Intercom admin id.
    pub id: String,
    /// The ids of their teams.
    pub teams: Vec<String>,
    /// Their Intercom role's id, if they have one.
    pub role_id: Option<String>,
    /// Their Intercom role's name, if they have one.
    pub role_name: Option<String>,
}

/// Intercom's teammate directory, by lower-case email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// `None`: an email several teammates share (it cannot say who acts).
    by_email: BTreeMap<String, Option<Teammate>>,
}

impl Directory {
    /// Reads `GET /admins`'s answer (at most `max` bytes). Admins without an email or an id are
    /// left out; a malformed answer is an error, never a partial directory.
    pub fn parse(bytes: &[u8], max: usize) -> Result<Directory, String> {
        if bytes.len() > max {
            return Err(format!(
                "{} bytes, more than `max_bytes` {max}",
                bytes.len()
            ));
        }
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("the directory is not JSON: {e}"))?;
        Directory::from_value(&v)
    }

    /// Reads an already parsed `GET /admins` answer.
    pub fn from_value(v: &Value) -> Result<Directory, String> {
        let admins = v
            .get("admins")
            .and_then(Value::as_array)
            .ok_or("the directory has no `admins` array")?;
        let mut by_email: BTreeMap<String, Option<Teammate>> = BTreeMap::new();
        for a in admins {
            let (Some(id), Some(email)) = (
                a.get("id").and_then(id_of),
                a.get("email").and_then(Value::as_str),
            ) else {
                continue;
            };
            let teams = a
                .get("team_ids")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(id_of).collect())
                .unwrap_or_default();
            let role = a.get("role").filter(|r| r.is_object());
            let teammate = Teammate {
                id,
                teams,
                role_id: role.and_then(|r| r.get("id")).and_then(id_of),
                role_name: role
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            by_email
                .entry(email.trim().to_ascii_lowercase())
                .and_modify(|e| *e = None)
                .or_insert(Some(teammate));
        }
        Ok(Directory { by_email })
    }

    /// The teammates listed (shared emails counted once).
    pub fn len(&self) -> usize {
        self.by_email.len()
    }

    /// Whether it lists nobody.
    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty()
    }

    /// The teammate with `email` (any case): `None` unknown, `Some(None)` shared by several.
    pub fn find(&self, email: &str) -> Option<Option<&Teammate>> {
        self.by_email
            .get(&email.trim().to_ascii_lowercase())
            .map(Option::as_ref)
    }
}

/// An id as Intercom writes it: a string, or a non-negative integer.
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// The configured identity, and the directory as last loaded.
#[derive(Debug)]
pub struct Identity {
    source: IdentitySource,
    roles: BTreeMap<String, String>,
    directory: RefCell<Option<Rc<Directory>>>,
}

impl Identity {
    /// From the configuration; a directory given in it (`identity.admins`) is loaded now.
    pub fn new(cfg: &IdentityConfig) -> Result<Identity, String> {
        if cfg.source == IdentitySource::Token && !cfg.roles.is_empty() {
            return Err("`identity.roles` maps the roles of Intercom's directory: it needs `identity.source: \"directory\"`".into());
        }
        let directory = match &cfg.admins {
            Some(v) => Some(Rc::new(
                Directory::from_value(v).map_err(|e| format!("`identity.admins`: {e}"))?,
            )),
            None => None,
        };
        Ok(Identity {
            source: cfg.source,
            roles: cfg.roles.clone(),
            directory: RefCell::new(directory),
        })
    }

    /// Whether the caller is looked up in the directory.
    pub fn uses_directory(&self) -> bool {
        self.source == IdentitySource::Directory
    }

    /// Replaces the directory (a fresh `GET /admins`); requests already judged keep theirs.
    pub fn set_directory(&self, d: Directory) {
        *self.directory.borrow_mut() = Some(Rc::new(d));
    }

    /// How many teammates the directory lists (`None`: none loaded yet).
    pub fn directory_len(&self) -> Option<usize> {
        self.directory.borrow().as_ref().map(|d| d.len())
    }

    /// The caller as Intercom knows them, or why they cannot be judged.
    pub fn resolve<'p>(&self, who: &'p Principal) -> Result<Cow<'p, Principal>, (Code, String)> {
        if self.source == IdentitySource::Token {
            return Ok(Cow::Borrowed(who));
        }
        let Some(directory) = self.directory.borrow().clone() else {
            return Err((
                Code::DirectoryUnavailable,
                "Intercom's teammate directory has not been loaded yet".into(),
            ));
        };
        let Some(email) = who.email.as_deref().filter(|e| !e.trim().is_empty()) else {
            return Err((
                Code::UnknownTeammate,
                "The token has no email to find the teammate by in Intercom's directory".into(),
            ));
        };
        let teammate = match directory.find(email) {
            None => {
                return Err((
                    Code::UnknownTeammate,
                    format!("`{email}` is not a teammate of this workspace in Intercom's directory"),
                ))
            }
            Some(None) => {
                return Err((
                    Code::UnknownTeammate,
                    format!("`{email}` is shared by several teammates in Intercom's directory: it cannot say who acts"),
                ))
            }
            Some(Some(t)) => t,
        };
        let mut p = who.clone();
        p.subject = Some(teammate.id.clone());
        p.teams = teammate.teams.clone();
        if !self.roles.is_empty() {
            p.role = self.role_of(teammate);
        }
        Ok(Cow::Owned(p))
    }

    /// The policy role of a teammate's Intercom role (by name, then id); unmapped, its Intercom
    /// name (so the decision says `unknown_role` and names it); none, no role.
    fn role_of(&self, t: &Teammate) -> Option<String> {
        let by_name = t.role_name.as_ref().and_then(|n| self.roles.get(n));
        let by_id = t.role_id.as_ref().and_then(|i| self.roles.get(i));
        by_name
            .or(by_id)
            .cloned()
            .or_else(|| t.role_name.clone().or_else(|| t.role_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    fn cfg(json: &str) -> IdentityConfig {
        serde_json::from_str(json).unwrap()
    }

    const ADMINS: &str = r#"{"type":"admin.list","admins":[
        {"type":"admin","id":"991","email":"ada@example.com","team_ids":[5,"6"],"role":{"type":"role","id":"1","name":"Support Agent"}},
        {"type":"admin","id":992,"email":"Bob@Example.com","team_ids":[]},
        {"type":"admin","id":"993","email":"shared@example.com"},
        {"type":"admin","id":"994","email":"SHARED@example.com"},
        {"type":"admin","email":"noid@example.com"}
    ]}"#;

    #[test]
    fn the_directory_decides_the_admin_id_teams_and_role() {
        let id = Identity::new(&cfg(&format!(
            r#"{{"source":"directory","admins":{ADMINS},"roles":{{"Support Agent":"agent"}}}}"#
        )))
        .unwrap();
        let who = Principal {
            subject: Some("okta-00u1".into()),
            email: Some("ADA@example.com".into()),
            teams: vec!["999".into()],
            role: Some("owner".into()),
            ..Default::default()
        };
        let p = id.resolve(&who).unwrap();
        assert_eq!(p.subject.as_deref(), Some("991"));
        assert_eq!(p.teams, ["5", "6"]);
        assert_eq!(p.role.as_deref(), Some("agent"));
        let bob = Principal {
            email: Some("bob@example.com".into()),
            ..Default::default()
        };
        let p = id.resolve(&bob).unwrap();
        assert_eq!(
            (p.subject.as_deref(), p.role.as_deref()),
            (Some("992"), None)
        );
        for (email, code) in [
            ("eve@example.com", Code::UnknownTeammate),
            ("shared@example.com", Code::UnknownTeammate),
            ("noid@example.com", Code::UnknownTeammate),
        ] {
            let who = Principal {
                email: Some(email.into()),
                ..Default::default()
            };
            assert_eq!(id.resolve(&who).unwrap_err().0, code, "{email}");
        }
    }

    #[test]
    fn no_directory_yet_is_unavailable_and_token_source_is_untouched() {
        let id = Identity::new(&cfg(r#"{"source":"directory"}"#)).unwrap();
        let who = Principal {
            email: Some("ada@example.com".into()),
            ..Default::default()
        };
        assert_eq!(id.resolve(&who).unwrap_err().0, Code::DirectoryUnavailable);
        id.set_directory(Directory::parse(ADMINS.as_bytes(), 1 << 20).unwrap());
        assert_eq!(id.resolve(&who).unwrap().subject.as_deref(), Some("991"));
        let token = Identity::new(&IdentityConfig::default()).unwrap();
        assert!(matches!(token.resolve(&who).unwrap(), Cow::Borrowed(_)));
        assert!(Identity::new(&cfg(r#"{"roles":{"x":"agent"}}"#)).is_err());
        assert!(Directory::parse(b"[]", 1 << 20).is_err());
        assert!(Directory::parse(ADMINS.as_bytes(), 10).is_err());
    }
}
