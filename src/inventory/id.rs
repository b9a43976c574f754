//! ARM resource identifiers. ARM echoes whatever casing a resource was created with, and some
//! resource providers normalise differently, so every comparison goes through [`key`].

/// The case-folded form of an ARM id (or name, type, enum string) used for joins.
pub fn key(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

/// The parts of an ARM resource id that joins need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArmId<'a> {
    pub subscription: Option<&'a str>,
    pub resource_group: Option<&'a str>,
    /// The last name segment, e.g. the VM name.
    pub name: Option<&'a str>,
}

impl<'a> ArmId<'a> {
    pub fn parse(id: &'a str) -> Self {
        let mut parts = id.split('/').filter(|s| !s.is_empty());
        let mut out = ArmId::default();
        let mut last_name = None;
        while let Some(segment) = parts.next() {
            let value = parts.next();
            if segment.eq_ignore_ascii_case("subscriptions") {
                out.subscription = value;
            } else if segment.eq_ignore_ascii_case("resourcegroups") {
                out.resource_group = value;
            } else if segment.eq_ignore_ascii_case("providers") {
                // `providers/<namespace>/<type>/<name>`: the namespace takes the value slot, so
                // realign pairs as type/name after it.
                let rest = parts.by_ref();
                while let (Some(_type), Some(name)) = (rest.next(), rest.next()) {
                    last_name = Some(name);
                }
                break;
            }
        }
        out.name = last_name.or(out.resource_group);
        out
    }
}

/// The scope a resource id sits in: the id itself for a resource; used for lock inheritance.
pub fn resource_group_id(subscription: &str, resource_group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{resource_group}")
}

pub fn subscription_id(subscription: &str) -> String {
    format!("/subscriptions/{subscription}")
}

/// Whether `inner` lies at or below `scope` (both ids, compared case-insensitively on segment
/// boundaries, so `/subscriptions/a/resourceGroups/rg1` does not contain `.../rg10`).
pub fn is_within(inner: &str, scope: &str) -> bool {
    let inner = key(inner);
    let scope = key(scope);
    inner == scope
        || (inner.starts_with(&scope) && inner.as_bytes().get(scope.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_id() {
        let id = ArmId::parse(
            "/subscriptions/s1/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachines/vm1",
        );
        assert_eq!(id.subscription, Some("s1"));
        assert_eq!(id.resource_group, Some("RG-Web"));
        assert_eq!(id.name, Some("vm1"));
    }

    #[test]
    fn parses_child_resource_name() {
        let id = ArmId::parse("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/VMSnapshot");
        assert_eq!(id.name, Some("VMSnapshot"));
    }

    #[test]
    fn containment_respects_segment_boundaries() {
        assert!(is_within(
            "/subscriptions/A/resourceGroups/RG1/providers/x/y/z",
            "/subscriptions/a/resourcegroups/rg1"
        ));
        assert!(!is_within(
            "/subscriptions/a/resourceGroups/rg10",
            "/subscriptions/a/resourceGroups/rg1"
        ));
        assert!(is_within("/subscriptions/a", "/subscriptions/a/"));
    }
}
