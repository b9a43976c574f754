//! Service tags and the other symbolic address prefixes NSG rules and routes use, resolved to
//! address sets. Tags whose prefixes come from the service tags document (`Storage`,
//! `AzureBackup.WestEurope`, ...) are only as good as the document in the snapshot; a tag it does
//! not hold resolves to `Unknown`, never to an empty set.

use super::ip::{parse_cidr, AddressSet};
use crate::inventory::model::ServiceTags;
use std::collections::HashMap;

/// Service tags by lower-cased name, with regional variants findable by region.
#[derive(Debug, Default)]
pub struct TagIndex {
    by_name: HashMap<String, AddressSet>,
    /// Each tag's IPv4 prefixes as listed, unmerged: a route per prefix keeps its own length.
    prefixes: HashMap<String, Vec<super::ip::Range>>,
    /// (base name, region) → tag name, both lower-cased: ("storage", "westeurope") → "storage.westeurope".
    regional: HashMap<(String, String), String>,
    pub present: bool,
}

impl TagIndex {
    pub fn new(document: Option<&ServiceTags>) -> TagIndex {
        let mut index = TagIndex {
            present: document.is_some(),
            ..TagIndex::default()
        };
        for tag in document.map(|d| d.values.as_slice()).unwrap_or(&[]) {
            let name = tag.name.to_ascii_lowercase();
            let listed: Vec<super::ip::Range> = tag
                .properties
                .address_prefixes
                .iter()
                .filter_map(|p| parse_cidr(p))
                .collect();
            let set = AddressSet::from_ranges(listed.clone());
            index.prefixes.insert(name.clone(), listed);
            if let (Some((base, _)), Some(region)) = (
                name.split_once('.'),
                tag.properties.region.as_deref().filter(|r| !r.is_empty()),
            ) {
                index.regional.insert(
                    (base.to_string(), region.to_ascii_lowercase()),
                    name.clone(),
                );
            }
            index.by_name.insert(name, set);
        }
        index
    }

    pub fn get(&self, name: &str) -> Option<&AddressSet> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    /// The tag's IPv4 prefixes as the document lists them.
    pub fn prefixes(&self, name: &str) -> Option<&[super::ip::Range]> {
        self.prefixes
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// The regional variant of `base` for `location` when the document has one, else `base`.
    pub fn regional_or_global(
        &self,
        base: &str,
        location: Option<&str>,
    ) -> Option<(String, &AddressSet)> {
        let base_key = base.to_ascii_lowercase();
        if let Some(location) = location {
            if let Some(name) = self.regional.get(&(
                base_key.clone(),
                location.to_ascii_lowercase().replace(' ', ""),
            )) {
                let set = &self.by_name[name];
                return Some((display_name(base, name), set));
            }
        }
        self.by_name
            .get(&base_key)
            .map(|set| (base.to_string(), set))
    }
}

fn display_name(base: &str, lower: &str) -> String {
    match lower.split_once('.') {
        Some((_, region)) => format!("{base}.{region}"),
        None => base.to_string(),
    }
}

/// What a prefix in an NSG rule or route stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resolved {
    Set(AddressSet),
    /// It cannot be resolved from the snapshot; the text says what is missing.
    Unknown(String),
}

/// Ranges that are never "Internet" even outside the virtual network.
const NON_INTERNET: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/3",
];

/// Resolves symbolic prefixes for one virtual network.
pub struct AddressContext<'a> {
    pub tags: &'a TagIndex,
    /// The `VirtualNetwork` tag: the VNet's address space, its peered VNets' spaces, and the
    /// prefixes of the subnet's user-defined routes (which the tag documentation includes).
    pub virtual_network: AddressSet,
    internet: AddressSet,
}

impl<'a> AddressContext<'a> {
    pub fn new(tags: &'a TagIndex, virtual_network: AddressSet) -> Self {
        let private = AddressSet::from_prefixes(NON_INTERNET);
        let internet = virtual_network.union(&private).complement();
        AddressContext {
            tags,
            virtual_network,
            internet,
        }
    }

    pub fn resolve(&self, prefix: &str) -> Resolved {
        let text = prefix.trim();
        if text == "*" || text.eq_ignore_ascii_case("any") {
            return Resolved::Set(AddressSet::all());
        }
        if let Some(range) = parse_cidr(text) {
            return Resolved::Set(AddressSet::from_ranges(vec![range]));
        }
        if text.contains(':') {
            // IPv6: matches no IPv4 flow.
            return Resolved::Set(AddressSet::default());
        }
        match text.to_ascii_lowercase().as_str() {
            "virtualnetwork" => Resolved::Set(self.virtual_network.clone()),
            "internet" => Resolved::Set(self.internet.clone()),
            "azureloadbalancer" => Resolved::Set(AddressSet::from_prefixes(["168.63.129.16/32"])),
            _ => match self.tags.get(text) {
                Some(set) => Resolved::Set(set.clone()),
                None if !self.tags.present => Resolved::Unknown(format!(
                    "service tag {text}: the snapshot has no service tags document"
                )),
                None => Resolved::Unknown(format!(
                    "service tag {text} is not in the snapshot's service tags document"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::{ServiceTag, ServiceTagProperties};

    fn document() -> ServiceTags {
        let tag = |name: &str, region: &str, prefixes: &[&str]| ServiceTag {
            name: name.into(),
            properties: ServiceTagProperties {
                region: Some(region.into()),
                address_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            },
        };
        ServiceTags {
            cloud: Some("Public".into()),
            values: vec![
                tag("Storage", "", &["20.38.0.0/16", "52.239.0.0/16"]),
                tag("Storage.WestEurope", "westeurope", &["20.38.0.0/16"]),
                tag("AzureCloud", "", &["20.0.0.0/8", "52.0.0.0/8", "2603::/16"]),
            ],
        }
    }

    #[test]
    fn tags_contain_their_regional_variants_and_internet_contains_azure() {
        let doc = document();
        let tags = TagIndex::new(Some(&doc));
        let ctx = AddressContext::new(&tags, AddressSet::from_prefixes(["10.1.0.0/16"]));
        let Resolved::Set(storage_weu) = ctx.resolve("storage.westeurope") else {
            panic!()
        };
        let Resolved::Set(storage) = ctx.resolve("Storage") else {
            panic!()
        };
        let Resolved::Set(cloud) = ctx.resolve("AzureCloud") else {
            panic!()
        };
        let Resolved::Set(internet) = ctx.resolve("Internet") else {
            panic!()
        };
        assert_eq!(storage_weu.intersection(&storage), storage_weu);
        assert_eq!(storage.intersection(&cloud), storage);
        assert_eq!(cloud.intersection(&internet), cloud);
        assert!(!internet.contains(super::super::ip::parse_ip("10.1.2.3").unwrap()));
        assert_eq!(
            tags.regional_or_global("Storage", Some("westeurope"))
                .unwrap()
                .0,
            "Storage.westeurope"
        );
        assert_eq!(
            tags.regional_or_global("Storage", Some("eastus"))
                .unwrap()
                .0,
            "Storage"
        );
    }

    #[test]
    fn missing_tags_are_unknown_not_empty() {
        let tags = TagIndex::new(None);
        let ctx = AddressContext::new(&tags, AddressSet::default());
        assert!(matches!(ctx.resolve("AzureBackup"), Resolved::Unknown(_)));
        assert_eq!(ctx.resolve("*"), Resolved::Set(AddressSet::all()));
    }
}
