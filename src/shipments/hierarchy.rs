//! The packing hierarchy as it stood at a point in time: the stored aggregation events up to
//! then, replayed in time order (standards.md §2.8). ADD puts children into the parent (out
//! of wherever they were); DELETE with children takes those out; DELETE without children
//! empties the parent.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::store::shipments::{PackingChild, PackingEvent};

/// Who was inside whom at the time, and since when.
#[derive(Debug, Default)]
pub struct Containment {
    /// child key -> (parent key, event time of the ADD that put it there).
    parent_of: HashMap<String, (String, DateTime<Utc>)>,
    /// parent key -> children keys (sorted: the document lists them in a stable order).
    children_of: HashMap<String, BTreeSet<String>>,
}

impl Containment {
    /// Replays `events` (in time order, as [`crate::store::shipments::packing_history`] gives
    /// them) with their `children`.
    pub fn replay(events: &[PackingEvent], children: &[PackingChild]) -> Containment {
        let mut by_event: HashMap<i64, Vec<&str>> = HashMap::new();
        for c in children {
            by_event.entry(c.event_id).or_default().push(&c.epc_key);
        }
        let mut out = Containment::default();
        for e in events {
            let Some(parent) = e.parent.as_deref() else {
                continue;
            };
            let named = by_event.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            match e.action.as_str() {
                "ADD" => {
                    for c in named {
                        out.take_out(c);
                        out.parent_of
                            .insert(c.to_string(), (parent.to_string(), e.event_time));
                        out.children_of
                            .entry(parent.to_string())
                            .or_default()
                            .insert(c.to_string());
                    }
                }
                "DELETE" if !e.has_children => {
                    for c in out.children_of.remove(parent).unwrap_or_default() {
                        out.parent_of.remove(&c);
                    }
                }
                "DELETE" => {
                    for c in named {
                        if out.parent_of.get(*c).is_some_and(|(p, _)| p == parent) {
                            out.take_out(c);
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn take_out(&mut self, child: &str) {
        if let Some((p, _)) = self.parent_of.remove(child) {
            if let Some(set) = self.children_of.get_mut(&p) {
                set.remove(child);
                if set.is_empty() {
                    self.children_of.remove(&p);
                }
            }
        }
    }

    /// The container `key` was in, if any.
    pub fn parent(&self, key: &str) -> Option<&str> {
        self.parent_of.get(key).map(|(p, _)| p.as_str())
    }

    /// What was directly inside `key`.
    pub fn children(&self, key: &str) -> impl Iterator<Item = &str> {
        self.children_of
            .get(key)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// When `key` was put into its container.
    pub fn packed_at(&self, key: &str) -> Option<DateTime<Utc>> {
        self.parent_of.get(key).map(|(_, t)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, minute: u32, action: &str, parent: &str, has_children: bool) -> PackingEvent {
        PackingEvent {
            id,
            event_time: DateTime::from_timestamp(i64::from(minute) * 60, 0).unwrap(),
            action: action.into(),
            parent: Some(parent.into()),
            has_children,
        }
    }

    fn ch(event_id: i64, key: &str) -> PackingChild {
        PackingChild {
            event_id,
            epc_key: key.into(),
        }
    }

    #[test]
    fn a_child_moved_to_another_parent_leaves_the_first() {
        let events = [ev(1, 1, "ADD", "P", true), ev(2, 2, "ADD", "Q", true)];
        let c = Containment::replay(&events, &[ch(1, "a"), ch(1, "b"), ch(2, "a")]);
        assert_eq!(c.parent("a"), Some("Q"));
        assert_eq!(c.children("P").collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn delete_without_children_empties_the_parent_and_delete_with_children_takes_them_out() {
        let events = [
            ev(1, 1, "ADD", "P", true),
            ev(2, 2, "DELETE", "P", true),
            ev(3, 3, "ADD", "Q", true),
            ev(4, 4, "DELETE", "Q", false),
        ];
        let c = Containment::replay(&events, &[ch(1, "a"), ch(1, "b"), ch(2, "a"), ch(3, "c")]);
        assert_eq!(c.children("P").collect::<Vec<_>>(), ["b"]);
        assert_eq!(c.parent("a"), None);
        assert_eq!(c.parent("c"), None);
        assert_eq!(c.children("Q").count(), 0);
    }

    #[test]
    fn a_delete_naming_another_parent_does_not_take_the_child_out() {
        let events = [ev(1, 1, "ADD", "P", true), ev(2, 2, "DELETE", "Q", true)];
        let c = Containment::replay(&events, &[ch(1, "a"), ch(2, "a")]);
        assert_eq!(c.parent("a"), Some("P"));
    }
}
