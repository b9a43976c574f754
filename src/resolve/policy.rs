//! Whether an Azure Policy deny would stop Azure Backup from creating what it needs for a VM:
//! the restore-point resource group (when none matching the naming pattern exists yet) and the
//! VM's restore point collection in it (when the VM has none yet). Both requests carry the VM's
//! location, the names Backup uses and no tags, which is why tag-governance policies with a Deny
//! effect break backup (docs/azure-sources.md#restore-point-resource-group, `UserErrorRequestDisallowedByPolicy`).
//!
//! Which assignments apply follows Azure Policy: the assignment's scope contains the target (a
//! management-group scope through the subscription's management-group ancestry), no `notScopes`
//! entry contains it, enforcement is `Default`, and no unexpired exemption covers it. A set
//! definition is evaluated member by member with the parameters the set passes on.

use super::fact_path;
use super::facts::{PolicyDenialFact, VmFacts};
use super::policy_rule::{self, Parameters, Request, Truth};
use super::Index;
use crate::inventory::id::{is_within, resource_group_id, subscription_id};
use crate::inventory::key;
use crate::inventory::model::{
    policy_object_scope, PolicyAssignment, PolicyParameterDefinition, PolicyParameterValue,
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
    RESOURCE_CONTAINERS,
};
use crate::inventory::types;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

const MANAGEMENT_GROUP_PREFIX: &str = "/providers/microsoft.management/managementgroups/";

/// Policy lookups shared by every VM.
#[derive(Default)]
pub struct PolicyIndex<'a> {
    /// Subscription key → the names (lower-cased) of the management groups above it; absent
    /// when the snapshot does not say.
    ancestors: HashMap<String, Vec<String>>,
    assignments: Vec<&'a PolicyAssignment>,
    /// Assignment key → its exemptions.
    exemptions: HashMap<String, Vec<&'a crate::inventory::model::PolicyExemption>>,
}

impl<'a> PolicyIndex<'a> {
    pub fn new(inventory: &'a crate::inventory::Inventory) -> Self {
        let ancestors = inventory
            .subscriptions
            .iter()
            .filter_map(|(sub, s)| {
                let chain = s
                    .properties
                    .as_ref()?
                    .management_group_ancestors_chain
                    .as_ref()?;
                Some((
                    sub.clone(),
                    chain
                        .iter()
                        .map(|mg| mg.name.to_ascii_lowercase())
                        .collect(),
                ))
            })
            .collect();
        let mut assignments: Vec<_> = inventory.policy_assignments.values().collect();
        assignments.sort_by(|a, b| a.id.cmp(&b.id));
        let mut exemptions: HashMap<String, Vec<_>> = HashMap::new();
        for exemption in inventory.policy_exemptions.values() {
            if let Some(assignment) = &exemption.properties.policy_assignment_id {
                exemptions
                    .entry(key(assignment))
                    .or_default()
                    .push(exemption);
            }
        }
        PolicyIndex {
            ancestors,
            assignments,
            exemptions,
        }
    }
}

pub fn resolve(index: &Index, facts: &mut VmFacts) {
    let subscription = subscription_id(&facts.subscription);
    let Some(rg) = facts.restore_point_rg.clone() else {
        facts.mark_unknown(
            fact_path::POLICY_DENIALS,
            "the restore-point resource group's name is not known",
        );
        return;
    };
    let Some(location) = facts.location.clone() else {
        facts.mark_unknown(fact_path::POLICY_DENIALS, "the VM has no location");
        return;
    };
    for what in [POLICY_ASSIGNMENTS, POLICY_EXEMPTIONS] {
        if let Some(gap) = index.inventory.gap_for(&subscription, what) {
            facts.mark_unknown(
                fact_path::POLICY_DENIALS,
                format!("{what} could not be read for {}: {}", gap.scope, gap.reason),
            );
            return;
        }
    }
    let mut requests = Vec::new();
    let rg_name = match rg.existing.first() {
        Some(existing) => existing.clone(),
        None => {
            let name = rg.pattern.replace("{n}", "1");
            requests.push(Request {
                id: resource_group_id(&facts.subscription, &name),
                name: name.clone(),
                type_: types::SUBSCRIPTION_RESOURCE_GROUPS.into(),
                location: location.clone(),
                tags: BTreeMap::new(),
                subscription_id: facts.subscription.clone(),
                resource_group: name.clone(),
            });
            name
        }
    };
    let has_collection = index
        .inventory
        .restore_point_collections
        .contains_key(&key(&facts.id));
    if !has_collection {
        if let Some(gap) = index
            .inventory
            .gap_for(&subscription, types::RESTORE_POINT_COLLECTIONS)
        {
            facts.mark_unknown(
                fact_path::POLICY_DENIALS,
                format!(
                    "restore point collections could not be read for {}: {}",
                    gap.scope, gap.reason
                ),
            );
            return;
        }
        let name = format!("AzureBackup_{}_1", facts.name);
        requests.push(Request {
            id: format!(
                "{}/providers/{}/{name}",
                resource_group_id(&facts.subscription, &rg_name),
                types::RESTORE_POINT_COLLECTIONS
            ),
            name,
            type_: types::RESTORE_POINT_COLLECTIONS.into(),
            location,
            tags: BTreeMap::new(),
            subscription_id: facts.subscription.clone(),
            resource_group: rg_name,
        });
    }

    let mut denials = Vec::new();
    let mut unknown: Option<String> = None;
    for request in &requests {
        for assignment in &index.policy.assignments {
            match judge(index, assignment, request) {
                Verdict::Denies(found) => denials.extend(found),
                Verdict::Unknown(reason) => {
                    unknown.get_or_insert(reason);
                }
                Verdict::Allows => {}
            }
        }
    }
    match unknown {
        // A definite denial fails the VM whatever else is unknown.
        Some(reason) if denials.is_empty() => facts.mark_unknown(fact_path::POLICY_DENIALS, reason),
        _ => facts.policy_denials = Some(denials),
    }
}

enum Verdict {
    Allows,
    Denies(Vec<PolicyDenialFact>),
    Unknown(String),
}

fn judge(index: &Index, assignment: &PolicyAssignment, request: &Request) -> Verdict {
    let props = &assignment.properties;
    if props
        .enforcement_mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("DoNotEnforce"))
    {
        return Verdict::Allows;
    }
    let scope = props
        .scope
        .clone()
        .unwrap_or_else(|| policy_object_scope(&assignment.id, "policyAssignments").to_owned());
    match covers(index, &scope, request) {
        Truth::No => return Verdict::Allows,
        Truth::Unknown(reason) => return Verdict::Unknown(with_assignment(assignment, reason)),
        Truth::Yes => {}
    }
    for excluded in props.not_scopes.iter().flatten() {
        match covers(index, excluded, request) {
            Truth::Yes => return Verdict::Allows,
            Truth::Unknown(reason) => return Verdict::Unknown(with_assignment(assignment, reason)),
            Truth::No => {}
        }
    }
    let Some(definition_id) = props.policy_definition_id.as_deref() else {
        return Verdict::Unknown(with_assignment(
            assignment,
            "it names no policy definition".into(),
        ));
    };
    let assigned = values(props.parameters.as_ref());
    let members: Vec<Member> = match set_members(index, definition_id, &assigned) {
        Ok(Some(members)) => members,
        Ok(None) => vec![Member {
            definition_id: definition_id.to_owned(),
            reference_id: None,
            parameters: assigned,
        }],
        Err(reason) => return Verdict::Unknown(with_assignment(assignment, reason)),
    };
    let mut denials = Vec::new();
    let mut unknown = None;
    for member in members {
        match judge_member(index, assignment, &member, request) {
            Ok(Some(denial)) => denials.push(denial),
            Ok(None) => {}
            Err(reason) => {
                unknown.get_or_insert(with_assignment(assignment, reason));
            }
        }
    }
    match (denials.is_empty(), unknown) {
        (false, _) => Verdict::Denies(denials),
        (true, Some(reason)) => Verdict::Unknown(reason),
        (true, None) => Verdict::Allows,
    }
}

fn with_assignment(assignment: &PolicyAssignment, reason: String) -> String {
    format!(
        "Azure Policy assignment '{}' cannot be judged: {reason}",
        display_name(assignment)
    )
}

fn display_name(assignment: &PolicyAssignment) -> String {
    assignment
        .properties
        .display_name
        .clone()
        .or_else(|| assignment.name.clone())
        .unwrap_or_else(|| {
            assignment
                .id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
}

/// Whether `scope` (a management group, subscription or resource group) contains the request.
fn covers(index: &Index, scope: &str, request: &Request) -> Truth {
    let lower = scope.to_ascii_lowercase();
    if let Some(group) = lower.strip_prefix(MANAGEMENT_GROUP_PREFIX) {
        let group = group.trim_end_matches('/');
        return match index.policy.ancestors.get(&key(&request.subscription_id)) {
            Some(chain) if chain.iter().any(|g| g == group) => Truth::Yes,
            Some(_) => Truth::No,
            None => {
                let subscription = format!("/subscriptions/{}", request.subscription_id);
                Truth::Unknown(match index.inventory.gap_for(&subscription, RESOURCE_CONTAINERS) {
                    Some(gap) => format!(
                        "it is assigned at management group '{group}', and the subscription's management groups could not be read: {}",
                        gap.reason
                    ),
                    None => format!(
                        "it is assigned at management group '{group}', and the subscription's management groups are not in the snapshot (Resource Graph resourcecontainers)"
                    ),
                })
            }
        };
    }
    if is_within(&request.id, scope) {
        Truth::Yes
    } else {
        Truth::No
    }
}

struct Member {
    definition_id: String,
    reference_id: Option<String>,
    parameters: Parameters,
}

fn values(given: Option<&BTreeMap<String, PolicyParameterValue>>) -> Parameters {
    given
        .into_iter()
        .flatten()
        .filter_map(|(name, v)| Some((name.clone(), v.value.clone()?)))
        .collect()
}

/// Adds the declared defaults for the parameters not given.
fn with_defaults(
    mut given: Parameters,
    declared: Option<&BTreeMap<String, PolicyParameterDefinition>>,
) -> Parameters {
    for (name, declaration) in declared.into_iter().flatten() {
        if policy_rule::parameter(&given, name).is_none() {
            if let Some(default) = &declaration.default_value {
                given.insert(name.clone(), default.clone());
            }
        }
    }
    given
}

/// The members of a set definition with the parameters the set passes them; `None` when the id
/// is a single definition.
fn set_members(
    index: &Index,
    definition_id: &str,
    assigned: &Parameters,
) -> Result<Option<Vec<Member>>, String> {
    if !definition_id
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/policysetdefinitions/")
    {
        return Ok(None);
    }
    let Some(set) = index
        .inventory
        .policy_set_definitions
        .get(&key(definition_id))
    else {
        return Err(not_read(index, definition_id, POLICY_SET_DEFINITIONS));
    };
    let set_parameters = with_defaults(assigned.clone(), set.properties.parameters.as_ref());
    // Members' parameter values are expressions over the set's parameters.
    let scratch = Request {
        id: String::new(),
        name: String::new(),
        type_: String::new(),
        location: String::new(),
        tags: BTreeMap::new(),
        subscription_id: String::new(),
        resource_group: String::new(),
    };
    let mut members = Vec::new();
    for member in &set.properties.policy_definitions {
        let Some(id) = member.policy_definition_id.clone() else {
            return Err(format!(
                "a member of set '{definition_id}' names no definition"
            ));
        };
        let mut parameters = Parameters::new();
        for (name, value) in member.parameters.iter().flatten() {
            let Some(value) = &value.value else { continue };
            let expanded = policy_rule::expand_value(value, &scratch, &set_parameters)?;
            parameters.insert(name.clone(), expanded);
        }
        members.push(Member {
            definition_id: id,
            reference_id: member.policy_definition_reference_id.clone(),
            parameters,
        });
    }
    Ok(Some(members))
}

fn not_read(index: &Index, id: &str, what: &str) -> String {
    match index.inventory.gap_for(id, what) {
        Some(gap) => format!("its definition {id} could not be read: {}", gap.reason),
        None => format!("its definition {id} is not in the snapshot"),
    }
}

fn judge_member(
    index: &Index,
    assignment: &PolicyAssignment,
    member: &Member,
    request: &Request,
) -> Result<Option<PolicyDenialFact>, String> {
    let Some(definition) = index
        .inventory
        .policy_definitions
        .get(&key(&member.definition_id))
    else {
        return Err(not_read(index, &member.definition_id, POLICY_DEFINITIONS));
    };
    let props = &definition.properties;
    let mode = props.mode.as_deref().unwrap_or("Indexed");
    let evaluated = if mode.eq_ignore_ascii_case("All") {
        true
    } else if mode.eq_ignore_ascii_case("Indexed") {
        // Indexed definitions skip resource groups and subscriptions.
        !request
            .type_
            .eq_ignore_ascii_case(types::SUBSCRIPTION_RESOURCE_GROUPS)
    } else {
        // Resource provider modes (Microsoft.KeyVault.Data, ...) judge data-plane objects.
        false
    };
    if !evaluated {
        return Ok(None);
    }
    let Some(rule) = &props.policy_rule else {
        return Err(format!(
            "definition {} has no policyRule",
            member.definition_id
        ));
    };
    let parameters = with_defaults(member.parameters.clone(), props.parameters.as_ref());
    match policy_rule::matches(rule, request, &parameters) {
        Truth::No => return Ok(None),
        Truth::Unknown(reason) => return Err(reason),
        Truth::Yes => {}
    }
    let effect = policy_rule::effect(rule, request, &parameters)?;
    if effect != "deny" {
        return Ok(None);
    }
    let overridden = |v: &Option<Value>| v.as_ref().is_some_and(|v| !is_empty(v));
    if overridden(&assignment.properties.overrides) {
        return Err("it has effect overrides, which are not evaluated".into());
    }
    if overridden(&assignment.properties.resource_selectors) {
        return Err("it has resource selectors, which are not evaluated".into());
    }
    if let Some(exemption) = exempted(index, assignment, member, request) {
        tracing::debug!(exemption, assignment = %assignment.id, "deny waived by an exemption");
        return Ok(None);
    }
    Ok(Some(PolicyDenialFact {
        assignment: display_name(assignment),
        assignment_id: assignment.id.clone(),
        definition: props
            .display_name
            .clone()
            .unwrap_or_else(|| member.definition_id.clone()),
        definition_id: member.definition_id.clone(),
        reference_id: member.reference_id.clone(),
        scope: assignment
            .properties
            .scope
            .clone()
            .unwrap_or_else(|| policy_object_scope(&assignment.id, "policyAssignments").to_owned()),
        resource_type: request.type_.clone(),
        resource: request.name.clone(),
    }))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The id of an unexpired exemption that waives this member of the assignment for the request.
fn exempted(
    index: &Index,
    assignment: &PolicyAssignment,
    member: &Member,
    request: &Request,
) -> Option<String> {
    index
        .policy
        .exemptions
        .get(&key(&assignment.id))?
        .iter()
        .find(|exemption| {
            let props = &exemption.properties;
            let expired = props.expires_on.as_deref().is_some_and(|at| {
                OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                    .is_ok_and(|at| at <= index.now)
            });
            let references = props
                .policy_definition_reference_ids
                .as_deref()
                .unwrap_or(&[]);
            let member_covered = references.is_empty()
                || member
                    .reference_id
                    .as_deref()
                    .is_some_and(|r| references.iter().any(|x| x.eq_ignore_ascii_case(r)));
            let scope = policy_object_scope(&exemption.id, "policyExemptions");
            !expired && member_covered && covers(index, scope, request) == Truth::Yes
        })
        .map(|exemption| exemption.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeBook;
    use crate::resolve::{resolve_all, Options};
    use serde_json::json;
    use std::path::PathBuf;

    const SUB: &str = "/subscriptions/s1";
    const REQUIRE_RG_TAG: &str =
        "/providers/Microsoft.Authorization/policyDefinitions/require-rg-tag";
    const REQUIRE_TAG: &str =
        "/subscriptions/s1/providers/Microsoft.Authorization/policyDefinitions/require-tag";

    /// One VM in eastus with no restore-point resource group or collection yet, the two
    /// definitions above, and whatever `extra` adds.
    fn denials(extra: Vec<Value>) -> Result<Vec<PolicyDenialFact>, String> {
        let mut objects = vec![
            json!({"subscriptionId": "s1", "displayName": "one", "state": "Enabled"}),
            json!({"id": "/subscriptions/s1/resourceGroups/rg-app", "name": "rg-app", "type": "Microsoft.Resources/resourceGroups", "location": "eastus"}),
            json!({"id": "/subscriptions/s1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1",
                   "name": "vm1", "type": "Microsoft.Compute/virtualMachines", "location": "eastus", "properties": {}}),
            json!({"id": REQUIRE_RG_TAG, "type": "Microsoft.Authorization/policyDefinitions",
                   "properties": {"displayName": "Require a tag on resource groups", "mode": "All",
                                  "parameters": {"tagName": {"type": "String"}},
                                  "policyRule": {"if": {"allOf": [
                                      {"field": "type", "equals": "Microsoft.Resources/subscriptions/resourceGroups"},
                                      {"field": "[concat('tags[', parameters('tagName'), ']')]", "exists": "false"}]},
                                      "then": {"effect": "deny"}}}}),
            json!({"id": REQUIRE_TAG, "type": "Microsoft.Authorization/policyDefinitions",
                   "properties": {"displayName": "Require a tag", "mode": "Indexed",
                                  "parameters": {"effect": {"type": "String", "defaultValue": "Deny"}},
                                  "policyRule": {"if": {"field": "tags['owner']", "exists": "false"},
                                                 "then": {"effect": "[parameters('effect')]"}}}}),
        ];
        objects.extend(extra);
        let bytes = serde_json::to_vec(&objects).unwrap();
        let inventory =
            crate::source::snapshot::load_files(&[(PathBuf::from("test.json"), bytes)]).unwrap();
        let codes = CodeBook::builtin().unwrap();
        let options = Options {
            now: Some(time::macros::datetime!(2026-12-01 0:00 UTC)),
            ..Options::default()
        };
        let index = Index::new(&inventory, &codes, &options);
        let facts = resolve_all(&index).remove(0);
        facts
            .policy_denials
            .clone()
            .ok_or_else(|| facts.unknown[&fact_path::POLICY_DENIALS].clone())
    }

    fn assignment(name: &str, definition: &str, extra: Value) -> Value {
        let mut a = json!({"id": format!("{SUB}/providers/Microsoft.Authorization/policyAssignments/{name}"),
                           "type": "Microsoft.Authorization/policyAssignments",
                           "properties": {"displayName": name, "policyDefinitionId": definition, "scope": SUB,
                                          "parameters": {"tagName": {"value": "owner"}}}});
        if let (Some(props), Some(extra)) = (a["properties"].as_object_mut(), extra.as_object()) {
            props.extend(extra.clone());
        }
        a
    }

    #[test]
    fn both_creations_are_judged() {
        let found = denials(vec![
            assignment("rg-tag", REQUIRE_RG_TAG, json!({})),
            assignment("tag", REQUIRE_TAG, json!({})),
        ])
        .unwrap();
        let what: Vec<_> = found
            .iter()
            .map(|d| {
                (
                    d.resource_type.as_str(),
                    d.resource.as_str(),
                    d.assignment.as_str(),
                )
            })
            .collect();
        assert_eq!(
            what,
            [
                (
                    "Microsoft.Resources/subscriptions/resourceGroups",
                    "AzureBackupRG_eastus_1",
                    "rg-tag"
                ),
                (
                    "Microsoft.Compute/restorePointCollections",
                    "AzureBackup_vm1_1",
                    "tag"
                ),
            ]
        );
    }

    #[test]
    fn existing_group_and_collection_need_no_creation() {
        let found = denials(vec![
            assignment("rg-tag", REQUIRE_RG_TAG, json!({})),
            assignment("tag", REQUIRE_TAG, json!({})),
            json!({"id": "/subscriptions/s1/resourceGroups/AzureBackupRG_eastus_1", "name": "AzureBackupRG_eastus_1",
                   "type": "Microsoft.Resources/resourceGroups", "location": "eastus"}),
            json!({"id": "/subscriptions/s1/resourceGroups/AzureBackupRG_eastus_1/providers/Microsoft.Compute/restorePointCollections/AzureBackup_vm1_7",
                   "type": "Microsoft.Compute/restorePointCollections",
                   "properties": {"source": {"id": "/subscriptions/s1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/VM1"}}}),
        ])
        .unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn not_scopes_enforcement_mode_and_effects_waive() {
        let rg = "/subscriptions/s1/resourceGroups/AzureBackupRG_eastus_1";
        assert!(denials(vec![assignment(
            "rg-tag",
            REQUIRE_RG_TAG,
            json!({"notScopes": [rg]})
        )])
        .unwrap()
        .is_empty());
        assert!(denials(vec![assignment(
            "rg-tag",
            REQUIRE_RG_TAG,
            json!({"enforcementMode": "DoNotEnforce"})
        )])
        .unwrap()
        .is_empty());
        let audit = json!({"parameters": {"effect": {"value": "Audit"}}});
        assert!(denials(vec![assignment("tag", REQUIRE_TAG, audit)])
            .unwrap()
            .is_empty());
        // An assignment on another resource group does not reach Backup's.
        let elsewhere = json!({"scope": "/subscriptions/s1/resourceGroups/rg-app"});
        let mut other = assignment("rg-tag", REQUIRE_RG_TAG, elsewhere);
        other["id"] = json!("/subscriptions/s1/resourceGroups/rg-app/providers/Microsoft.Authorization/policyAssignments/rg-tag");
        assert!(denials(vec![other]).unwrap().is_empty());
    }

    #[test]
    fn exemptions_waive_until_they_expire() {
        let exemption = |expires: Value| {
            json!({"id": "/subscriptions/s1/providers/Microsoft.Authorization/policyExemptions/backup",
                   "type": "Microsoft.Authorization/policyExemptions",
                   "properties": {"policyAssignmentId": format!("{SUB}/providers/Microsoft.Authorization/policyAssignments/TAG"),
                                  "exemptionCategory": "Waiver", "expiresOn": expires}})
        };
        let tag = || assignment("tag", REQUIRE_TAG, json!({}));
        assert!(denials(vec![tag(), exemption(Value::Null)])
            .unwrap()
            .is_empty());
        assert!(
            denials(vec![tag(), exemption(json!("2027-01-01T00:00:00Z"))])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            denials(vec![tag(), exemption(json!("2026-11-30T00:00:00Z"))])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn what_cannot_be_read_is_unknown_unless_a_deny_is_certain() {
        let missing = assignment(
            "gone",
            "/providers/Microsoft.Authorization/policyDefinitions/gone",
            json!({}),
        );
        let reason = denials(vec![missing.clone()]).unwrap_err();
        assert!(reason.contains("not in the snapshot"), "{reason}");
        let overridden = assignment(
            "tag",
            REQUIRE_TAG,
            json!({"overrides": [{"kind": "policyEffect", "value": "Audit"}]}),
        );
        assert!(denials(vec![overridden]).unwrap_err().contains("overrides"));
        let management_group = json!({"id": "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyAssignments/mg-tag",
            "type": "Microsoft.Authorization/policyAssignments",
            "properties": {"policyDefinitionId": REQUIRE_RG_TAG, "scope": "/providers/Microsoft.Management/managementGroups/mg1",
                           "parameters": {"tagName": {"value": "owner"}}}});
        assert!(denials(vec![management_group.clone()])
            .unwrap_err()
            .contains("management group"));
        // With the ancestry known, the management group assignment applies.
        let container = json!({"id": "/subscriptions/s1", "type": "microsoft.resources/subscriptions", "subscriptionId": "s1",
            "properties": {"managementGroupAncestorsChain": [{"name": "MG1"}, {"name": "root"}]}});
        assert_eq!(denials(vec![management_group, container]).unwrap().len(), 1);
        // A certain deny stands beside an unknown one.
        let certain = assignment("rg-tag", REQUIRE_RG_TAG, json!({}));
        assert_eq!(denials(vec![missing, certain]).unwrap().len(), 1);
    }

    #[test]
    fn indexed_definitions_skip_resource_groups() {
        let mut indexed_rg_rule = assignment(
            "rg-tag-indexed",
            "/providers/Microsoft.Authorization/policyDefinitions/indexed",
            json!({}),
        );
        indexed_rg_rule["properties"]["parameters"] = json!({});
        let definition = json!({"id": "/providers/Microsoft.Authorization/policyDefinitions/indexed", "type": "Microsoft.Authorization/policyDefinitions",
            "properties": {"mode": "Indexed", "policyRule": {"if": {"field": "type", "equals": "Microsoft.Resources/subscriptions/resourceGroups"}, "then": {"effect": "deny"}}}});
        assert!(denials(vec![indexed_rg_rule, definition])
            .unwrap()
            .is_empty());
    }
}
