//! The permission vocabulary: API-level `resource:action` names, Intercom's teammate-permission
//! names as aliases, and [`PermSet`], the bitset a compiled role holds.
//!
//! A permission is known by its index in [`PERMISSIONS`] (built in) or, after those, in the
//! policy's own `permissions` (custom). [`PermSet`] has room for [`PermSet::CAPACITY`] of them.

/// Every built-in permission, with a one-line description. The index is the permission's id.
///
/// INVARIANT: names are unique and `resource:action` shaped (a test checks both); the order is
/// free, but ids are not stable across versions, so never persist an index.
pub const PERMISSIONS: &[(&str, &str)] = &[
    (
        "admins:read",
        "list and view teammates, teams' members and away-status reasons",
    ),
    ("admins:update_away", "set any teammate's away status"),
    ("admins:update_own_away", "set one's own away status"),
    ("admins:activity_logs", "read teammate activity logs"),
    (
        "admins:act_as",
        "name another teammate as the one who acts (`admin_id`, `from`, `author_id`, …): bots and migrations; no built-in role has it",
    ),
    ("teams:read", "list and view teams"),
    (
        "contacts:read",
        "list, search and view contacts (users and leads) and visitors",
    ),
    (
        "contacts:write",
        "create and update contacts, archive them, convert visitors",
    ),
    ("contacts:delete", "delete a contact"),
    (
        "contacts:merge",
        "merge a lead into a user (the lead is deleted)",
    ),
    ("contacts:block", "block a contact"),
    ("companies:read", "list, search and view companies"),
    ("companies:write", "create and update companies"),
    ("companies:delete", "delete a company"),
    ("notes:read", "read notes on contacts and companies"),
    ("notes:write", "add notes to contacts and companies"),
    ("segments:read", "list and view segments"),
    (
        "subscriptions:read",
        "list subscription types and a contact's subscriptions",
    ),
    ("subscriptions:write", "subscribe or unsubscribe a contact"),
    ("tags:read", "list and view tags"),
    (
        "tags:apply",
        "tag and untag contacts, companies, conversations, tickets and content",
    ),
    ("tags:manage", "create, rename and delete tags"),
    (
        "conversations:read",
        "list, search and view conversations, macros and their events",
    ),
    ("conversations:create", "start a conversation"),
    (
        "conversations:reply",
        "reply to a conversation (customer-visible)",
    ),
    (
        "conversations:note",
        "add an internal note to a conversation",
    ),
    (
        "conversations:assign",
        "assign or unassign a conversation, run assignment rules",
    ),
    ("conversations:close", "close a conversation"),
    ("conversations:snooze", "snooze a conversation"),
    ("conversations:open", "reopen a conversation"),
    (
        "conversations:update",
        "mark read, rename, set attributes, attach and detach contacts",
    ),
    ("conversations:merge", "merge two conversations"),
    (
        "conversations:redact",
        "redact a conversation part or source, for good",
    ),
    ("conversations:delete", "delete a conversation"),
    (
        "conversations:delete_metrics",
        "delete a conversation together with its metrics",
    ),
    (
        "tickets:read",
        "list, search and view tickets and ticket states",
    ),
    (
        "tickets:create",
        "create a ticket, or convert a conversation into one",
    ),
    ("tickets:reply", "reply to a ticket (customer-visible)"),
    ("tickets:note", "add an internal note to a ticket"),
    (
        "tickets:update",
        "edit a ticket's attributes, type and linked conversations",
    ),
    ("tickets:assign", "assign or unassign a ticket"),
    ("tickets:close", "close a ticket or change its state"),
    ("tickets:snooze", "snooze a ticket"),
    ("tickets:delete", "delete a ticket"),
    ("ticket_types:read", "list and view ticket types"),
    (
        "ticket_types:manage",
        "create and update ticket types and their attributes",
    ),
    ("messages:read", "read the delivery status of messages"),
    ("messages:send", "send a message to one contact"),
    (
        "messages:bulk_send",
        "send a message to more than one person at a time",
    ),
    (
        "articles:read",
        "list, search and view articles, internal articles, drafts and versions",
    ),
    (
        "articles:write",
        "create and update draft articles and internal articles",
    ),
    ("articles:publish", "publish articles"),
    ("articles:delete", "delete articles and internal articles"),
    (
        "help_center:read",
        "view help centers, collections, sections and redirects",
    ),
    (
        "help_center:manage",
        "manage help center collections, sections and redirects",
    ),
    ("news:read", "list and view news items and newsfeeds"),
    ("news:write", "create and update news items as drafts"),
    ("news:publish", "set news items live"),
    ("news:delete", "delete news items"),
    ("content:read", "search content and read content snippets"),
    (
        "content:write",
        "create and update content snippets, bulk content edits",
    ),
    ("content:publish", "publish or unpublish content in bulk"),
    ("content:delete", "delete content and content snippets"),
    (
        "content:export",
        "export message and content engagement data",
    ),
    (
        "ai_content:read",
        "view AI content sources and external pages",
    ),
    (
        "ai_content:write",
        "create, update and delete AI content sources and external pages",
    ),
    (
        "data_attributes:read",
        "list data attributes and conversation attributes",
    ),
    (
        "data_attributes:manage",
        "create and update data attributes and conversation attributes",
    ),
    ("events:read", "list a contact's data events"),
    ("events:write", "submit data events and event summaries"),
    ("custom_objects:read", "read custom object instances"),
    (
        "custom_objects:write",
        "create and update custom object instances",
    ),
    ("custom_objects:delete", "delete custom object instances"),
    (
        "data_connectors:read",
        "view data connectors and their execution results",
    ),
    (
        "data_connectors:manage",
        "create, update and delete data connectors",
    ),
    (
        "reports:read",
        "read team metrics and the list of reporting datasets",
    ),
    ("reports:export", "export and download reporting data"),
    ("workflows:export", "export a workflow"),
    (
        "settings:read",
        "read workspace settings: brands, sender emails, office hours, IP allowlist",
    ),
    (
        "settings:manage",
        "change workspace settings such as office hours",
    ),
    (
        "security:manage",
        "change security settings such as the IP allowlist",
    ),
    (
        "calls:read",
        "list and view calls, recordings, transcripts and Fin Voice calls",
    ),
    (
        "calls:write",
        "create phone call redirects and register Fin Voice calls",
    ),
    ("fin:use", "talk to Fin through the Fin Agent API"),
    ("macros:read", "list and view macros"),
    ("audiences:read", "list and view audiences"),
    ("audiences:manage", "create, update and delete audiences"),
    (
        "jobs:read",
        "read the status of jobs enqueued through the API",
    ),
];

/// Intercom's teammate permissions (seed `004`, Intercom's help center) that have an API
/// counterpart: `(Intercom's label, snake_case id, permissions it stands for)`. A policy may name
/// either the label or the id wherever it names a permission.
pub const ALIASES: &[(&str, &str, &[&str])] = &[
    (
        "Can access general and security settings",
        "can_access_general_and_security_settings",
        &["settings:read", "settings:manage", "security:manage"],
    ),
    (
        "Can manage teammates, seats and permissions",
        "can_manage_teammates_seats_and_permissions",
        &["admins:activity_logs"],
    ),
    (
        "Can change status",
        "can_change_status",
        &["admins:update_away"],
    ),
    (
        "Can manage workspace data",
        "can_manage_workspace_data",
        &[
            "data_attributes:manage",
            "custom_objects:write",
            "custom_objects:delete",
            "data_connectors:manage",
            "ticket_types:manage",
        ],
    ),
    (
        "Can access people, companies, and account lists",
        "can_access_people_companies_and_account_lists",
        &["contacts:read", "companies:read", "segments:read"],
    ),
    (
        "Can access lead and user profile pages",
        "can_access_lead_and_user_profile_pages",
        &["contacts:read"],
    ),
    (
        "Can export lead, user, company data",
        "can_export_lead_user_company_data",
        &["reports:export"],
    ),
    ("Can manage tags", "can_manage_tags", &["tags:manage"]),
    (
        "Can create and update draft Articles",
        "can_create_and_update_draft_articles",
        &["articles:write"],
    ),
    (
        "Can manage and publish Articles",
        "can_manage_and_publish_articles",
        &["articles:publish", "articles:delete", "help_center:manage"],
    ),
    (
        "Can manage Automation settings and inbound Workflows",
        "can_manage_automation_settings_and_inbound_workflows",
        &["workflows:export"],
    ),
    (
        "Can bulk message visitors, leads and users",
        "can_bulk_message_visitors_leads_and_users",
        &["messages:bulk_send", "content:publish"],
    ),
    ("Can publish News", "can_publish_news", &["news:publish"]),
    (
        "Can export Proactive Support data",
        "can_export_proactive_support_data",
        &["content:export"],
    ),
    (
        "Can reassign conversations and edit lead or user ownership",
        "can_reassign_conversations_and_edit_lead_or_user_ownership",
        &["conversations:assign", "tickets:assign"],
    ),
    (
        "Can delete replies and notes from a conversation",
        "can_delete_replies_and_notes_from_a_conversation",
        &["conversations:redact"],
    ),
    (
        "Can access Reports",
        "can_access_reports",
        &["reports:read"],
    ),
    ("Can export CSV", "can_export_csv", &["reports:export"]),
];

/// A set of permissions, one bit per permission id.
///
/// `contains_all` is a handful of word operations, whatever the number of permissions.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermSet([u64; 4]);

impl PermSet {
    /// How many permissions (built in + custom) a policy may define.
    pub const CAPACITY: usize = 256;

    /// The empty set.
    pub const fn new() -> Self {
        PermSet([0; 4])
    }

    /// Adds permission `id`; ids at or beyond [`Self::CAPACITY`] are ignored (the policy
    /// compiler refuses to create them).
    pub fn insert(&mut self, id: u16) {
        if let Some(w) = self.0.get_mut(usize::from(id) / 64) {
            *w |= 1u64 << (id % 64);
        }
    }

    /// Removes permission `id`.
    pub fn remove(&mut self, id: u16) {
        if let Some(w) = self.0.get_mut(usize::from(id) / 64) {
            *w &= !(1u64 << (id % 64));
        }
    }

    /// Whether permission `id` is in the set.
    pub fn contains(&self, id: u16) -> bool {
        self.0
            .get(usize::from(id) / 64)
            .is_some_and(|w| w & (1u64 << (id % 64)) != 0)
    }

    /// Whether every permission of `other` is in the set.
    pub fn contains_all(&self, other: &PermSet) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| b & !a == 0)
    }

    /// The union of the two sets.
    pub fn union(mut self, other: &PermSet) -> PermSet {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
        self
    }

    /// The permissions of `self` that are not in `other`.
    pub fn difference(mut self, other: &PermSet) -> PermSet {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a &= !b;
        }
        self
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The ids in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        // Set bits only (lowest first): a request's set holds one to three of 256.
        let (mut words, mut i) = (self.0, 0u16);
        core::iter::from_fn(move || loop {
            let w = words.get_mut(usize::from(i))?;
            if *w != 0 {
                let bit = w.trailing_zeros() as u16; // < 64: `w` is not 0
                *w &= *w - 1;
                return Some(i * 64 + bit);
            }
            i += 1;
        })
    }

    /// The lowest id in the set.
    pub fn first(&self) -> Option<u16> {
        let mut base = 0u16;
        for w in self.0 {
            if w != 0 {
                return Some(base + w.trailing_zeros() as u16);
            }
            base += 64;
        }
        None
    }
}

impl core::fmt::Debug for PermSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The id of a built-in permission, by name.
pub fn builtin_id(name: &str) -> Option<u16> {
    PERMISSIONS
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| u16::try_from(i).ok())
}

/// The permissions an Intercom teammate-permission label or id stands for.
pub fn alias(name: &str) -> Option<&'static [&'static str]> {
    ALIASES
        .iter()
        .find(|(label, id, _)| label.eq_ignore_ascii_case(name) || *id == name)
        .map(|(_, _, perms)| *perms)
}

/// The Levenshtein distance between two short names, for "did you mean" hints.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: alloc::vec::Vec<char> = b.chars().collect();
    let mut prev: alloc::vec::Vec<usize> = (0..=b.len()).collect();
    let mut cur = alloc::vec![0usize; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(c0) = cur.first_mut() {
            *c0 = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(c) = cur.get_mut(j + 1) {
                *c = sub.min(del).min(ins);
            }
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The nearest of `candidates` to `name`, if it is near enough to be a plausible typo.
pub fn nearest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.len() / 3).max(2);
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for (name, desc) in PERMISSIONS {
            assert!(seen.insert(*name), "duplicate permission {name}");
            let (res, act) = name.split_once(':').expect("resource:action");
            assert!(
                !res.is_empty() && !act.is_empty() && !act.contains(':'),
                "{name}"
            );
            assert!(!desc.is_empty());
        }
        assert!(PERMISSIONS.len() < PermSet::CAPACITY);
    }

    #[test]
    fn iter_yields_exactly_the_members_in_order() {
        let sets: [&[u16]; 6] = [
            &[],
            &[0],
            &[63, 64],
            &[255],
            &[1, 2, 3, 127, 128, 200, 254, 255],
            &[0, 64, 128, 192],
        ];
        for ids in sets {
            let mut s = PermSet::new();
            ids.iter().for_each(|&i| s.insert(i));
            let brute: Vec<u16> = (0..PermSet::CAPACITY as u16)
                .filter(|i| s.contains(*i))
                .collect();
            assert_eq!(s.iter().collect::<Vec<_>>(), brute);
            assert_eq!(brute, ids);
        }
        let mut full = PermSet::new();
        (0..PermSet::CAPACITY as u16).for_each(|i| full.insert(i));
        assert_eq!(full.iter().count(), PermSet::CAPACITY);
    }

    #[test]
    fn aliases_name_known_permissions() {
        for (label, id, perms) in ALIASES {
            assert!(!perms.is_empty(), "{label}");
            for p in *perms {
                assert!(builtin_id(p).is_some(), "alias {id} names unknown {p}");
            }
            assert_eq!(alias(label), Some(*perms));
            assert_eq!(alias(id), Some(*perms));
        }
    }

    #[test]
    fn permset_operations() {
        let mut a = PermSet::new();
        a.insert(3);
        a.insert(200);
        assert!(a.contains(3) && a.contains(200) && !a.contains(4));
        let mut b = PermSet::new();
        b.insert(3);
        assert!(a.contains_all(&b) && !b.contains_all(&a));
        assert_eq!(a.difference(&b).first(), Some(200));
        a.remove(3);
        assert!(!a.contains(3));
        a.insert(999); // beyond capacity: ignored
        assert_eq!(a.iter().count(), 1);
    }

    #[test]
    fn did_you_mean() {
        let names = PERMISSIONS.iter().map(|(n, _)| *n);
        assert_eq!(
            nearest("contacts:destroy", names.clone()),
            Some("contacts:delete")
        );
        assert_eq!(nearest("zzzz", names.clone()), None);
        assert_eq!(
            nearest("contacts:delet", names.clone()),
            Some("contacts:delete")
        );
        assert_eq!(
            nearest("conversation:reply", names),
            Some("conversations:reply")
        );
    }
}
