//! Microsoft.Authorization and the identities it names: locks, role assignments and definitions,
//! the Backup Management Service's service principal (from Microsoft Graph), and Azure Policy.
//!
//! Azure Policy is read per subscription (its assignments and exemptions lists), plus one GET per
//! definition the assignments reference: the built-in definitions number in the thousands, so
//! they are never listed.

use super::pages::{bearer_get, succeeded};
use super::{id_of, Collector, Read, Subscription};
use crate::inventory::types::{
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
    SERVICE_PRINCIPALS,
};
use crate::inventory::Kind;
use serde_json::Value;

/// The api-versions of Resources package locks-2020-05 and Authorization package 2022-04-01.
const LOCKS_API: &str = "2020-05-01";
const AUTHORIZATION_API: &str = "2022-04-01";
type Policy = azure_mgmt_resources::package_policy_2021_06::Client;
sdk_client!(policy: Policy);

/// The policy assignments list is read at 2023-04-01, the first api-version whose answer carries
/// `overrides` and `resourceSelectors` (both can change what an assignment's effect is).
const POLICY_ASSIGNMENTS_API: &str = "2023-04-01";
/// The exemptions list is read at 2022-07-01-preview, which adds `resourceSelectors` and
/// `assignmentScopeValidation` to what the SDK's 2020-07-01-preview model knows.
const POLICY_EXEMPTIONS_API: &str = "2022-07-01-preview";

/// The Backup Management Service's well-known application id (docs/snapshots.md).
const BACKUP_MANAGEMENT_SERVICE_APP_ID: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";

reads! {
    Lock: list |sub| sub.arm_list("providers/Microsoft.Authorization/locks", LOCKS_API);
    RoleAssignment: list |sub|
        sub.arm_list("providers/Microsoft.Authorization/roleAssignments", AUTHORIZATION_API);
    RoleDefinition: list |sub|
        sub.arm_list("providers/Microsoft.Authorization/roleDefinitions", AUTHORIZATION_API);
    PolicyAssignment: own |sub| sub.policy_assignments();
    PolicyExemption: own |sub| async {
        sub.policy_list(POLICY_EXEMPTIONS, POLICY_EXEMPTIONS_API).await;
    };
}

impl Collector {
    /// The Backup Management Service's service principal, from Microsoft Graph.
    pub async fn backup_service_principal(&self, graph: &url::Url) {
        let result = async {
            let mut url = graph
                .join("/v1.0/servicePrincipals")
                .map_err(super::conversion)?;
            url.query_pairs_mut().append_pair(
                "$filter",
                &format!("appId eq '{BACKUP_MANAGEMENT_SERVICE_APP_ID}'"),
            );
            let scope = format!("{}/.default", graph.as_str().trim_end_matches('/'));
            let token = self.options.credential.get_token(&[scope.as_str()]).await?;
            let mut request = bearer_get(url, &token);
            // Through the pipeline: the host guard, a fresh token if this one is refused, the
            // tenant's read budget and the call count.
            let response = self
                .pipeline()
                .send(&azure_core::Context::new(), &mut request)
                .await?;
            succeeded(response.status())?;
            let body: Value = response.json().await?;
            Ok(body
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default())
        }
        .await;
        match result {
            Ok(items) => self.put("tenant", SERVICE_PRINCIPALS, items),
            Err(error) => self.gap("/", SERVICE_PRINCIPALS, &error),
        }
    }
}

impl Subscription<'_> {
    /// The subscription's policy assignments, then every definition and set definition they
    /// reference that no other subscription has read yet.
    async fn policy_assignments(&self) {
        let Some(referenced) = self
            .policy_list(POLICY_ASSIGNMENTS, POLICY_ASSIGNMENTS_API)
            .await
        else {
            return;
        };
        let policy = policy(self);
        self.policy_definitions(&policy, referenced).await;
    }

    /// The unfiltered list of `what` (assignments or exemptions): what is assigned at the
    /// subscription, inside it, and at every management group above it, filed by the scope it
    /// sits at. Read without the SDK's package-policy-2021-06 models: its assignment model
    /// predates `overrides` and `resourceSelectors`, which can change an assignment's effect, and
    /// its exemption model drops `resourceSelectors`; re-encoding through them would silently
    /// lose those fields. Returns the definition ids the items reference (an assignment's
    /// `policyDefinitionId`).
    async fn policy_list(&self, what: &str, api_version: &'static str) -> Option<Vec<String>> {
        let path = format!("{}/providers/{what}", self.scope);
        let items = self
            .collector
            .read(
                self.id,
                &self.scope,
                what,
                self.raw_list(path, api_version, None),
            )
            .await?;
        let referenced = items
            .iter()
            .filter_map(|item| item.pointer("/properties/policyDefinitionId"))
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        self.put_by_scope(what, items);
        Some(referenced)
    }

    /// Files a subscription's list: what sits at a management group goes to `tenant/` once (every
    /// subscription under that group lists it again), the rest to the subscription's folder.
    fn put_by_scope(&self, what: &str, items: Vec<Value>) {
        let collector = self.collector;
        let (groups, own): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|item| at_management_group(id_of(item)));
        let groups: Vec<Value> = groups
            .into_iter()
            .filter(|item| collector.claim(format!("{what} {}", id_of(item).to_ascii_lowercase())))
            .collect();
        if !groups.is_empty() {
            collector.put("tenant", what, groups);
        }
        collector.put(self.id, what, own);
    }

    /// GETs each referenced definition once per run, then the members of each set definition.
    async fn policy_definitions(&self, policy: &Policy, mut pending: Vec<String>) {
        while !pending.is_empty() {
            let wave: Vec<String> = pending
                .drain(..)
                .filter(|id| {
                    self.collector
                        .claim(format!("definition {}", id.to_ascii_lowercase()))
                })
                .collect();
            let members =
                futures::future::join_all(wave.iter().map(|id| self.policy_definition(policy, id)))
                    .await;
            pending.extend(members.into_iter().flatten());
        }
    }

    /// One definition or set definition by id; returns a set definition's member definition ids.
    async fn policy_definition(&self, policy: &Policy, id: &str) -> Vec<String> {
        let (collector, s) = (self.collector, self.id);
        let Some(parsed) = DefinitionId::parse(id) else {
            let what = if id.to_ascii_lowercase().contains("/policysetdefinitions/") {
                POLICY_SET_DEFINITIONS
            } else {
                POLICY_DEFINITIONS
            };
            collector.record_gap(
                id,
                what,
                "not a policy definition id this collector can read (built-in, subscription or management group)".into(),
            );
            return Vec::new();
        };
        let what = if parsed.set {
            POLICY_SET_DEFINITIONS
        } else {
            POLICY_DEFINITIONS
        };
        // The SDK builds and signs the request, but its body is read as JSON, not through the
        // package-policy-2021-06 models: their `ParameterDefinitions` and `ParameterValues` are
        // empty structs, so re-encoding would drop every parameter definition (the default that
        // often decides the effect) and every value a set passes to its members.
        let call = async {
            let definitions = policy.policy_definitions_client();
            let sets = policy.policy_set_definitions_client();
            let name = parsed.name;
            let response: azure_core::Response = match (parsed.set, parsed.scope) {
                (false, DefinitionScope::BuiltIn) => {
                    definitions.get_built_in(name).send().await?.into()
                }
                (false, DefinitionScope::Subscription(sub)) => {
                    definitions.get(name, sub).send().await?.into()
                }
                (false, DefinitionScope::ManagementGroup(mg)) => definitions
                    .get_at_management_group(name, mg)
                    .send()
                    .await?
                    .into(),
                (true, DefinitionScope::BuiltIn) => sets.get_built_in(name).send().await?.into(),
                (true, DefinitionScope::Subscription(sub)) => {
                    sets.get(name, sub).send().await?.into()
                }
                (true, DefinitionScope::ManagementGroup(mg)) => {
                    sets.get_at_management_group(name, mg).send().await?.into()
                }
            };
            let definition: Value = response.json().await?;
            Ok(vec![definition])
        };
        let Some(mut fetched) = collector.read(s, id, what, call).await else {
            return Vec::new();
        };
        let definition = fetched.pop().unwrap_or_default();
        let members: Vec<String> = definition
            .pointer("/properties/policyDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|member| member.get("policyDefinitionId").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        let folder = match parsed.scope {
            // The subscription's folder under the spelling of the scan's subscription list.
            DefinitionScope::Subscription(sub) if sub.eq_ignore_ascii_case(s) => s,
            DefinitionScope::Subscription(sub) => sub,
            DefinitionScope::BuiltIn | DefinitionScope::ManagementGroup(_) => "tenant",
        };
        collector.put(folder, what, vec![definition]);
        members
    }
}

/// Whether an ARM id sits at a management group (outside every subscription).
fn at_management_group(id: &str) -> bool {
    id.get(..MANAGEMENT_GROUPS.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(MANAGEMENT_GROUPS))
}

const MANAGEMENT_GROUPS: &str = "/providers/Microsoft.Management/managementGroups/";

/// Where a policy definition lives, as its id says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefinitionScope<'a> {
    BuiltIn,
    Subscription(&'a str),
    ManagementGroup(&'a str),
}

/// A policy definition or set definition id, taken apart for the SDK's get calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DefinitionId<'a> {
    scope: DefinitionScope<'a>,
    set: bool,
    name: &'a str,
}

impl<'a> DefinitionId<'a> {
    /// `/providers/Microsoft.Authorization/policy[Set]Definitions/{name}` (built-in),
    /// `/subscriptions/{s}/providers/...` or
    /// `/providers/Microsoft.Management/managementGroups/{mg}/providers/...`.
    fn parse(id: &'a str) -> Option<DefinitionId<'a>> {
        let parts: Vec<&str> = id.strip_prefix('/')?.split('/').collect();
        let is = |part: &str, word: &str| part.eq_ignore_ascii_case(word);
        let (scope, rest) = match parts.as_slice() {
            [p, m, g, mg, rest @ ..]
                if is(p, "providers")
                    && is(m, "Microsoft.Management")
                    && is(g, "managementGroups")
                    && !mg.is_empty() =>
            {
                (DefinitionScope::ManagementGroup(mg), rest)
            }
            [sub_word, sub, rest @ ..] if is(sub_word, "subscriptions") && !sub.is_empty() => {
                (DefinitionScope::Subscription(sub), rest)
            }
            rest => (DefinitionScope::BuiltIn, rest),
        };
        let [p, namespace, kind, name] = rest else {
            return None;
        };
        if !is(p, "providers") || !is(namespace, "Microsoft.Authorization") || name.is_empty() {
            return None;
        }
        let set = if is(kind, "policySetDefinitions") {
            true
        } else if is(kind, "policyDefinitions") {
            false
        } else {
            return None;
        };
        Some(DefinitionId { scope, set, name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_ids_by_scope() {
        let parse = DefinitionId::parse;
        assert_eq!(
            parse("/providers/Microsoft.Authorization/policyDefinitions/e56962a6"),
            Some(DefinitionId {
                scope: DefinitionScope::BuiltIn,
                set: false,
                name: "e56962a6"
            })
        );
        assert_eq!(
            parse("/subscriptions/S1/providers/microsoft.authorization/POLICYSETDEFINITIONS/x"),
            Some(DefinitionId {
                scope: DefinitionScope::Subscription("S1"),
                set: true,
                name: "x"
            })
        );
        assert_eq!(
            parse("/providers/Microsoft.Management/managementGroups/mg-contoso/providers/Microsoft.Authorization/policyDefinitions/require-tag"),
            Some(DefinitionId {
                scope: DefinitionScope::ManagementGroup("mg-contoso"),
                set: false,
                name: "require-tag"
            })
        );
        for bad in [
            "",
            "providers/Microsoft.Authorization/policyDefinitions/x",
            "/providers/Microsoft.Authorization/policyAssignments/x",
            "/providers/Microsoft.Authorization/policyDefinitions/",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/policyDefinitions/x",
            "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policyDefinitions/x/versions/1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn management_group_ids() {
        assert!(at_management_group(
            "/providers/microsoft.management/MANAGEMENTGROUPS/mg/providers/Microsoft.Authorization/policyAssignments/a"
        ));
        assert!(!at_management_group(
            "/subscriptions/s/providers/Microsoft.Authorization/policyAssignments/a"
        ));
        assert!(!at_management_group(
            "/providers/Microsoft.Authorization/policyDefinitions/d"
        ));
    }
}
