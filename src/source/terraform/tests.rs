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

/// A resource change entry: `after` and `after_unknown` of a create.
fn create(address: &str, kind: &str, after: Value, unknown: Value) -> Value {
    json!({ "address": address, "mode": "managed", "type": kind,
            "change": { "actions": ["create"], "before": null, "after": after, "after_unknown": unknown } })
}

fn nic_ids(set: &ChangeSet, address: &str) -> Vec<Value> {
    let change = set.changes.iter().find(|c| c.address == address).unwrap();
    let Edit::Put(vm) = &change.edits[0] else {
        panic!("{change:?}")
    };
    vm["properties"]["networkProfile"]["networkInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect()
}

fn id_of(set: &ChangeSet, address: &str) -> String {
    set.changes
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("no {address} in {:?}", set.changes))
        .id
        .clone()
}

const SUB: &str = "3f0c9931-918c-40bf-9670-c342c6cce996";

fn provider() -> Value {
    json!({ "azurerm": { "name": "azurerm", "expressions": { "subscription_id": { "constant_value": SUB } } } })
}

/// A random name places the NIC and the VM under stand-ins that name the resource, and the
/// VM's `[nic[count.index].id]` joins to its own instance's NIC, not the other one.
#[test]
fn names_known_after_apply_place_resources_under_stand_ins_that_still_join() {
    let nic = |i: usize| {
        create(
            &format!("azurerm_network_interface.vm[{i}]"),
            "azurerm_network_interface",
            json!({ "resource_group_name": "rg-app", "location": "westeurope",
                    "ip_configuration": [{ "name": "ip", "subnet_id": null }] }),
            json!({ "id": true, "name": true, "ip_configuration": [{ "subnet_id": true }] }),
        )
    };
    let vm = |i: usize| {
        create(
            &format!("azurerm_linux_virtual_machine.vm[{i}]"),
            "azurerm_linux_virtual_machine",
            json!({ "resource_group_name": "rg-app", "location": "westeurope", "network_interface_ids": [null] }),
            json!({ "id": true, "name": true, "network_interface_ids": [true] }),
        )
    };
    let text = json!({
        "format_version": "1.2",
        "resource_changes": [vm(0), vm(1), nic(1), nic(0)],
        "configuration": { "provider_config": provider(), "root_module": { "resources": [
            { "address": "azurerm_network_interface.vm", "type": "azurerm_network_interface", "name": "vm",
              "expressions": { "name": { "references": ["random_pet.p.id", "random_pet.p"] },
                               "ip_configuration": [{ "subnet_id": { "references": ["azurerm_subnet.app.id", "azurerm_subnet.app"] } }] } },
            { "address": "azurerm_linux_virtual_machine.vm", "type": "azurerm_linux_virtual_machine", "name": "vm",
              "expressions": { "network_interface_ids": { "references": ["azurerm_network_interface.vm", "count.index"] } } }
        ] } }
    })
    .to_string();
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    let nic0 = id_of(&set, "azurerm_network_interface.vm[0]");
    let nic1 = id_of(&set, "azurerm_network_interface.vm[1]");
    assert_eq!(
        nic0,
        format!("/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Network/networkInterfaces/(known after apply: azurerm_network_interface.vm[0].name)")
    );
    assert_ne!(nic0, nic1);
    assert_eq!(
        nic_ids(&set, "azurerm_linux_virtual_machine.vm[0]"),
        vec![json!(nic0)]
    );
    assert_eq!(
        nic_ids(&set, "azurerm_linux_virtual_machine.vm[1]"),
        vec![json!(nic1)]
    );
    // The subnet is not in the plan and its id is unknown: the NIC's subnet stays unknown.
    let change = set.changes.iter().find(|c| c.id == nic0).unwrap();
    let Edit::Put(nic) = &change.edits[0] else {
        panic!()
    };
    assert_eq!(
        nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"],
        json!(KNOWN_AFTER_APPLY)
    );
}

/// Resources two modules deep, their NICs reached through a module output and a variable
/// handed down, each resolved to the planned instance of the same module instance.
#[test]
fn references_through_nested_modules_outputs_and_variables_resolve() {
    let nic_id = |m: &str| {
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-{m}")
    };
    let mut changes = Vec::new();
    for m in ["a", "b"] {
        changes.push(create(
            &format!("module.app[\"{m}\"].module.net.azurerm_network_interface.this"),
            "azurerm_network_interface",
            json!({ "name": format!("nic-{m}"), "resource_group_name": "rg", "ip_configuration": [] }),
            json!({ "id": true }),
        ));
        changes.push(create(
            &format!("module.app[\"{m}\"].module.vm.azurerm_windows_virtual_machine.this"),
            "azurerm_windows_virtual_machine",
            json!({ "name": format!("vm-{m}"), "resource_group_name": "rg" }),
            json!({ "id": true, "network_interface_ids": true }),
        ));
    }
    let app = json!({
        "module_calls": {
            "net": { "source": "./net", "module": {
                "resources": [{ "address": "azurerm_network_interface.this", "type": "azurerm_network_interface", "name": "this", "expressions": {} }],
                "outputs": { "nic_id": { "expression": { "references": ["azurerm_network_interface.this.id", "azurerm_network_interface.this"] } } } } },
            "vm": { "source": "./vm",
                "expressions": { "nic_ids": { "references": ["module.net.nic_id", "module.net"] } },
                "module": { "resources": [{ "address": "azurerm_windows_virtual_machine.this", "type": "azurerm_windows_virtual_machine", "name": "this",
                    "expressions": { "network_interface_ids": { "references": ["var.nic_ids"] } } }] } }
        }
    });
    let text = json!({
        "format_version": "1.1",
        "resource_changes": changes,
        "configuration": { "provider_config": provider(), "root_module": {
            "module_calls": { "app": { "source": "./app", "for_each_expression": { "constant_value": ["a", "b"] }, "module": app } } } }
    })
    .to_string();
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    for m in ["a", "b"] {
        let vm = format!("module.app[\"{m}\"].module.vm.azurerm_windows_virtual_machine.this");
        assert_eq!(nic_ids(&set, &vm), vec![json!(nic_id(m))], "{m}");
    }
}

/// Where the instance cannot be told (a splat over a counted resource, a local), the value is
/// unknown, never the first instance.
#[test]
fn undecidable_indexes_leave_the_value_unknown() {
    let text = json!({
        "format_version": "1.0",
        "resource_changes": [
            create("azurerm_network_interface.n[0]", "azurerm_network_interface",
                json!({ "name": "n0", "resource_group_name": "rg", "ip_configuration": [] }), json!({ "id": true })),
            create("azurerm_network_interface.n[1]", "azurerm_network_interface",
                json!({ "name": "n1", "resource_group_name": "rg", "ip_configuration": [] }), json!({ "id": true })),
            create("azurerm_linux_virtual_machine.splat", "azurerm_linux_virtual_machine",
                json!({ "name": "v1", "resource_group_name": "rg", "network_interface_ids": [null] }),
                json!({ "id": true, "network_interface_ids": [true] })),
            create("azurerm_linux_virtual_machine.local", "azurerm_linux_virtual_machine",
                json!({ "name": "v2", "resource_group_name": "rg" }),
                json!({ "id": true, "network_interface_ids": true })),
        ],
        "configuration": { "provider_config": provider(), "root_module": { "resources": [
            { "address": "azurerm_linux_virtual_machine.splat", "expressions": {
                "network_interface_ids": { "references": ["azurerm_network_interface.n"] } } },
            { "address": "azurerm_linux_virtual_machine.local", "expressions": {
                "network_interface_ids": { "references": ["local.nic_ids"] } } }
        ] } }
    })
    .to_string();
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    for vm in [
        "azurerm_linux_virtual_machine.splat",
        "azurerm_linux_virtual_machine.local",
    ] {
        assert_eq!(nic_ids(&set, vm), vec![json!(KNOWN_AFTER_APPLY)], "{vm}");
    }
}

/// A lock on a resource group whose name is random sits on the group's stand-in id, which is
/// the group every resource placed in it names.
#[test]
fn a_random_resource_group_is_one_stand_in_for_all_its_resources() {
    let text = json!({
        "format_version": "1.2",
        "resource_changes": [
            create("azurerm_resource_group.rg", "azurerm_resource_group", json!({ "location": "westeurope" }), json!({ "id": true, "name": true })),
            create("azurerm_management_lock.rg", "azurerm_management_lock",
                json!({ "name": "nodelete", "lock_level": "CanNotDelete" }), json!({ "id": true, "scope": true })),
            create("azurerm_managed_disk.d", "azurerm_managed_disk",
                json!({ "name": "d", "storage_account_type": "Premium_LRS" }), json!({ "id": true, "resource_group_name": true })),
        ],
        "configuration": { "provider_config": provider(), "root_module": { "resources": [
            { "address": "azurerm_management_lock.rg", "expressions": { "scope": { "references": ["azurerm_resource_group.rg.id", "azurerm_resource_group.rg"] } } },
            { "address": "azurerm_managed_disk.d", "expressions": { "resource_group_name": { "references": ["azurerm_resource_group.rg.name", "azurerm_resource_group.rg"] } } }
        ] } }
    })
    .to_string();
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    let group = format!(
        "/subscriptions/{SUB}/resourceGroups/(known after apply: azurerm_resource_group.rg.name)"
    );
    assert_eq!(
        id_of(&set, "azurerm_management_lock.rg"),
        format!("{group}/providers/Microsoft.Authorization/locks/nodelete")
    );
    assert_eq!(
        id_of(&set, "azurerm_managed_disk.d"),
        format!("{group}/providers/Microsoft.Compute/disks/d")
    );
}

/// Every part of the format a plan may carry besides the changes is read or ignored on
/// purpose: drift, prior state, relevant attributes, checks, moved and imported resources,
/// data sources, deposed objects, no-op and read; a future major version is refused.
#[test]
fn the_parts_of_every_format_version_are_read_or_ignored_on_purpose() {
    let disk = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d";
    let old = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d-old";
    let entries = json!([
        { "address": "azurerm_managed_disk.d", "mode": "managed", "type": "azurerm_managed_disk",
          "previous_address": "azurerm_managed_disk.data", "action_reason": "replace_by_triggers",
          "change": { "actions": ["create", "delete"], "before": { "id": disk, "name": "d" },
                      "after": { "id": disk, "name": "d", "resource_group_name": "rg" }, "after_unknown": {},
                      "importing": null, "before_sensitive": {}, "after_sensitive": {}, "replace_paths": [["name"]] } },
        { "address": "azurerm_managed_disk.d", "mode": "managed", "type": "azurerm_managed_disk", "deposed": "00000001",
          "change": { "actions": ["delete"], "before": { "id": disk, "name": "d" }, "after": null } },
        { "address": "azurerm_managed_disk.e", "mode": "managed", "type": "azurerm_managed_disk", "deposed": "00000002",
          "change": { "actions": ["delete"], "before": { "id": old, "name": "d-old" }, "after": null } },
        { "address": "azurerm_managed_disk.imported", "mode": "managed", "type": "azurerm_managed_disk",
          "change": { "actions": ["no-op"], "before": { "id": old }, "after": { "id": old }, "importing": { "id": old } } },
        { "address": "data.azurerm_subnet.s", "mode": "data", "type": "azurerm_subnet",
          "change": { "actions": ["read"], "before": null, "after": {}, "after_unknown": { "id": true } } },
        { "address": "azurerm_managed_disk.read", "mode": "managed", "type": "azurerm_managed_disk",
          "change": { "actions": ["read"], "before": null, "after": null } }
    ]);
    for version in ["0.1", "0.2", "1.0", "1.1", "1.2", "1.9"] {
        let text = json!({
            "format_version": version, "resource_changes": entries,
            "resource_drift": [{ "address": "azurerm_managed_disk.d", "type": "azurerm_managed_disk",
                                 "change": { "actions": ["update"], "before": {}, "after": {} } }],
            "prior_state": { "format_version": version, "values": { "root_module": { "resources": [] } } },
            "relevant_attributes": [{ "resource": "azurerm_managed_disk.d", "attribute": ["name"] }],
            "checks": [{ "address": { "kind": "resource", "to_display": "x" }, "status": "pass" }],
            "output_changes": {}, "timestamp": "2026-01-01T00:00:00Z", "applyable": true, "complete": true, "errored": false
        })
        .to_string();
        let set = parse(Path::new("p.json"), &text, None).unwrap();
        let summary: Vec<(&str, Action, &str)> = set
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c.action, c.id.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("azurerm_managed_disk.d", Action::Replace, disk),
                ("azurerm_managed_disk.e", Action::Delete, old)
            ],
            "format {version}"
        );
    }
    let error = parse(
        Path::new("p.json"),
        r#"{"format_version": "2.0", "resource_changes": []}"#,
        None,
    )
    .unwrap_err();
    assert_eq!(error.place.as_deref(), Some("format_version"));
    assert!(error.problem.contains("\"2.0\""), "{error:?}");
}

/// A replace that renames a child removes the old element from its parent, and one that
/// re-points an association clears the old parent's reference.
#[test]
fn a_replace_that_moves_a_child_removes_the_old_one() {
    let nsg =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg";
    let rule = |name: &str| {
        json!({ "name": name, "resource_group_name": "rg", "network_security_group_name": "nsg",
                "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "Tcp" })
    };
    let mut before = rule("Allow-Backup");
    before["id"] = json!(format!("{nsg}/securityRules/Allow-Backup"));
    let nic = |n: &str| {
        format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/{n}"
        )
    };
    let nsg_of = |n: &str| json!({ "network_interface_id": nic(n), "network_security_group_id": nsg, "id": format!("{}|{nsg}", nic(n)) });
    let mut after_assoc = nsg_of("b");
    after_assoc.as_object_mut().unwrap().remove("id");
    let text = plan(json!([
        { "address": "azurerm_network_security_rule.r", "mode": "managed", "type": "azurerm_network_security_rule",
          "change": { "actions": ["delete", "create"], "before": before, "after": rule("Deny-Backup"), "after_unknown": { "id": true } } },
        { "address": "azurerm_network_interface_security_group_association.a", "mode": "managed",
          "type": "azurerm_network_interface_security_group_association",
          "change": { "actions": ["delete", "create"], "before": nsg_of("a"), "after": after_assoc, "after_unknown": { "id": true } } }
    ]));
    let set = parse(Path::new("p.json"), &text, None).unwrap();
    // Each edit as what it names (an element's key, a field's parent) and whether it sets it.
    let summary = |change: &Change| -> Vec<(String, bool)> {
        change
            .edits
            .iter()
            .map(|e| match e {
                Edit::Element { key, item, .. } => (key.clone(), item.is_some()),
                Edit::Field { parent, value, .. } => (parent.clone(), value.is_some()),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let named = |s: &str| s.to_string();
    assert_eq!(
        summary(&set.changes[0]),
        vec![(named("Allow-Backup"), false), (named("Deny-Backup"), true)]
    );
    assert_eq!(
        summary(&set.changes[1]),
        vec![(nic("a"), false), (nic("b"), true)]
    );
}
