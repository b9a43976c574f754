use super::*;
use serde_json::json;

fn plan(changes: Value) -> String {
    json!({ "format_version": "1.2", "resource_changes": changes }).to_string()
}

#[test]
fn nsg_rule_becomes_an_element_of_its_nsg_and_unknowns_are_marked() {
    let text = plan(json!([{
        "address": "azurerm_network_security_rule.deny",
        "mode": "managed", "type": "azurerm_network_security_rule", "name": "deny",
        "change": {
            "actions": ["create"], "before": null,
            "after": { "name": "deny", "resource_group_name": "rg", "network_security_group_name": "nsg",
                       "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "Tcp",
                       "destination_port_range": "443", "destination_address_prefix": null },
            "after_unknown": { "id": true, "destination_address_prefix": true }
        }
    }]));
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    let change = &set.changes[0];
    assert_eq!(
        change.unknown_after_apply,
        vec!["destination_address_prefix", "id"]
    );
    let Edit::Element {
        parent,
        item: Some(item),
        ..
    } = &change.edits[0]
    else {
        panic!()
    };
    assert!(parent
        .ends_with("/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg"));
    assert_eq!(
        item["properties"]["destinationAddressPrefix"],
        json!(KNOWN_AFTER_APPLY)
    );
    assert_eq!(item["properties"]["priority"], json!(100));
}

#[test]
fn policy_assignments_carry_scope_parameters_and_enforcement() {
    let assignment = |after: Value, unknown: Value| {
        plan(json!([{
            "address": "azurerm_management_group_policy_assignment.a",
            "mode": "managed", "type": "azurerm_management_group_policy_assignment", "name": "a",
            "change": { "actions": ["create"], "before": null, "after": after, "after_unknown": unknown }
        }]))
    };
    let text = assignment(
        json!({ "name": "tags", "management_group_id": "/providers/Microsoft.Management/managementGroups/mg1",
                "policy_definition_id": "/providers/Microsoft.Authorization/policyDefinitions/d",
                "parameters": "{\"tagName\":{\"value\":\"owner\"}}", "enforce": false,
                "not_scopes": ["/subscriptions/s2"], "overrides": [{ "value": "Audit" }], "resource_selectors": [] }),
        json!({ "id": true }),
    );
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    let Edit::Put(resource) = &set.changes[0].edits[0] else {
        panic!()
    };
    assert_eq!(
        resource["id"],
        json!("/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyAssignments/tags")
    );
    let props = &resource["properties"];
    assert_eq!(props["parameters"]["tagName"]["value"], json!("owner"));
    assert_eq!(props["enforcementMode"], json!("DoNotEnforce"));
    assert_eq!(props["notScopes"], json!(["/subscriptions/s2"]));
    assert_eq!(props["overrides"].as_array().map(Vec::len), Some(1));
    assert!(props.get("resourceSelectors").is_none());

    let broken = assignment(
        json!({ "name": "tags", "management_group_id": "/providers/Microsoft.Management/managementGroups/mg1",
                "parameters": "{not json" }),
        json!({}),
    );
    let error = parse(Path::new("p.json"), &broken, None).unwrap_err();
    assert!(
        error.problem.contains("`parameters` is not valid JSON"),
        "{error:?}"
    );
    assert!(error
        .place
        .as_deref()
        .unwrap_or_default()
        .contains("parameters"));
}

#[test]
fn replace_and_noop_actions() {
    let text = plan(json!([
        { "address": "azurerm_managed_disk.d", "type": "azurerm_managed_disk", "mode": "managed",
          "change": { "actions": ["delete", "create"],
                      "before": { "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d" },
                      "after": { "name": "d", "resource_group_name": "rg", "storage_account_type": "UltraSSD_LRS", "disk_size_gb": 64 },
                      "after_unknown": { "id": true } } },
        { "address": "azurerm_resource_group.rg", "type": "azurerm_resource_group", "mode": "managed",
          "change": { "actions": ["no-op"], "before": {}, "after": {} } }
    ]));
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    assert_eq!(set.changes.len(), 1);
    assert_eq!(set.changes[0].action, Action::Replace);
    assert_eq!(
        set.changes[0].id,
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d"
    );
    let Edit::Put(disk) = &set.changes[0].edits[0] else {
        panic!()
    };
    assert_eq!(disk["sku"]["name"], json!("UltraSSD_LRS"));
}

#[test]
fn wrong_types_name_the_json_path() {
    let text = plan(
        json!([{ "address": "azurerm_managed_disk.d", "type": "azurerm_managed_disk", "mode": "managed",
        "change": { "actions": ["create"], "before": null,
                    "after": { "name": "d", "resource_group_name": "rg", "disk_size_gb": "64" } } }]),
    );
    let error = parse(Path::new("p.json"), &text, None).unwrap_err();
    assert_eq!(
        error.place.as_deref(),
        Some("resource_changes[0].change.after.disk_size_gb")
    );
    let error = parse(Path::new("p.json"), r#"{"resource_changes": {}}"#, None).unwrap_err();
    assert_eq!(error.place.as_deref(), Some("resource_changes"));
}

#[test]
fn unmapped_types_are_listed() {
    let text = plan(
        json!([{ "address": "azurerm_storage_account.sa", "type": "azurerm_storage_account", "mode": "managed",
        "change": { "actions": ["create"], "before": null, "after": { "name": "sa" } } }]),
    );
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    assert_eq!(set.unmapped, vec!["azurerm_storage_account.sa"]);
}

/// Every change of the plan as JSON, edits included, for a snapshot.
fn render(set: &ChangeSet) -> Value {
    let edit = |edit: &Edit| match edit {
        Edit::Put(value) => json!({ "put": value }),
        Edit::Merge(value) => json!({ "merge": value }),
        Edit::Model(value) => json!({ "model": value }),
        Edit::Remove(id) => json!({ "remove": id }),
        Edit::Element {
            parent,
            array,
            key_field,
            key,
            item,
        } => json!({ "element": {
            "parent": parent, "array": array, "key_field": key_field, "key": key, "item": item
        } }),
        Edit::Field {
            parent,
            path,
            value,
        } => json!({ "field": { "parent": parent, "path": path, "value": value } }),
    };
    let changes: Vec<Value> = set
        .changes
        .iter()
        .map(|c| {
            json!({
                "address": c.address, "action": c.action, "resource_type": c.resource_type,
                "id": c.id, "unknown_after_apply": c.unknown_after_apply, "line": c.line,
                "place": c.place, "edits": c.edits.iter().map(edit).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "changes": changes, "unmapped": set.unmapped, "subscriptions": set.subscriptions })
}

/// One plan with a change of every type the registry maps (creates, updates, deletes, a
/// replace, values known only after apply, references between planned resources), and what
/// each becomes.
#[test]
fn every_mapped_type_maps_as_recorded() {
    let text = include_str!("testdata/every_type.plan.json");
    let set = parse(Path::new("every_type.plan.json"), text, None).unwrap();
    let planned: Vec<&str> = set
        .changes
        .iter()
        .map(|c| c.resource_type.as_str())
        .collect();
    for mapping in registry::MAPPINGS {
        assert!(
            planned.contains(&mapping.terraform),
            "add a {} to testdata/every_type.plan.json",
            mapping.terraform
        );
    }
    insta::assert_json_snapshot!("every_type", render(&set));
}

#[test]
fn each_terraform_type_has_one_row() {
    let mut types: Vec<&str> = registry::MAPPINGS.iter().map(|m| m.terraform).collect();
    types.sort();
    let count = types.len();
    types.dedup();
    assert_eq!(types.len(), count);
}
