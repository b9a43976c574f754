//! The answers the emulator builds from a store, without HTTP: paging and next links, query keys,
//! Resource Graph and Graph filters, policy lists and path matching.

use super::*;

#[test]
fn page_bounds_arithmetic() {
    assert_eq!(page_bounds(21, 0, 5), (0, 5, Some(5)));
    assert_eq!(page_bounds(21, 20, 5), (20, 21, None));
    assert_eq!(page_bounds(20, 15, 5), (15, 20, None));
    assert_eq!(page_bounds(0, 0, 5), (0, 0, None));
    assert_eq!(page_bounds(3, 99, 5), (3, 3, None));
    // A zero page size would never make progress; it is treated as one.
    assert_eq!(page_bounds(2, 0, 0), (0, 1, Some(1)));
}

#[test]
fn next_link_replaces_the_skip_token_and_keeps_the_rest() {
    assert_eq!(
        next_link(
            "http://127.0.0.1:1",
            "/a/B",
            "api-version=1&statusOnly=true",
            5
        ),
        "http://127.0.0.1:1/a/B?api-version=1&statusOnly=true&$skiptoken=5"
    );
    assert_eq!(
        next_link("http://h", "/a", "api-version=1&%24skipToken=5&x=y", 10),
        "http://h/a?api-version=1&x=y&$skiptoken=10"
    );
    assert_eq!(
        next_link("http://h", "/a", "", 3),
        "http://h/a?$skiptoken=3"
    );
}

#[test]
fn query_keys_are_case_insensitive() {
    let q = Query::parse("API-Version=2024-01-01&statusOnly=true&%24filter=appId%20eq%20%27x%27");
    assert_eq!(q.get("api-version"), Some("2024-01-01"));
    assert_eq!(q.get("statusonly"), Some("true"));
    assert_eq!(q.get("$filter"), Some("appId eq 'x'"));
}

#[test]
fn graph_queries() {
    assert_eq!(
        parse_graph_query(
            "resources | where type =~ 'Microsoft.Compute/virtualMachines/extensions'"
        ),
        Some(GraphQuery::Resources(
            "microsoft.compute/virtualmachines/extensions".to_owned()
        ))
    );
    assert_eq!(
        parse_graph_query("Resources|where type=~\"A/B\" | project id, name"),
        Some(GraphQuery::Resources("a/b".to_owned()))
    );
    assert_eq!(
        parse_graph_query(
            "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project id, name, properties"
        ),
        Some(GraphQuery::SubscriptionContainers)
    );
    assert_eq!(
        parse_graph_query(
            "ResourceContainers | where type =~ \"Microsoft.Resources/Subscriptions\""
        ),
        Some(GraphQuery::SubscriptionContainers)
    );
    assert_eq!(
        parse_graph_query(
            "resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups'"
        ),
        None
    );
    assert_eq!(
        parse_graph_query("resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | summarize count()"),
        None
    );
    assert_eq!(
        parse_graph_query("advisorresources | where type =~ 'microsoft.resources/subscriptions'"),
        None
    );
    assert_eq!(parse_graph_query("resources | where name =~ 'x'"), None);
    assert_eq!(
        parse_graph_query("resources | where type =~ 'a' | summarize count()"),
        None
    );
    assert_eq!(
        parse_graph_query("resourcecontainers | where type =~ 'a'"),
        None
    );
    assert_eq!(parse_graph_query("resources | where type =~ ''"), None);
    assert_eq!(parse_graph_query("resources | where type == 'a'"), None);
}

#[test]
fn app_id_filters() {
    assert_eq!(
        parse_app_id_filter("appId eq 'abc'"),
        Some("abc".to_owned())
    );
    assert_eq!(
        parse_app_id_filter("  appid   eq   'abc' "),
        Some("abc".to_owned())
    );
    assert_eq!(parse_app_id_filter("displayName eq 'abc'"), None);
}

fn demo_store() -> Store {
    let mut s = Store::default();
    s.add_document(json!([
        {"id": "/subscriptions/s", "subscriptionId": "s"},
        {"id": "/subscriptions/s/resourceGroups/rg", "type": "Microsoft.Resources/resourceGroups"},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
         "type": "Microsoft.Compute/virtualMachines", "name": "vm", "location": "x",
         "properties": {"hardwareProfile": {}, "instanceView": {"statuses": [1], "vmAgent": {}, "osName": "y"}},
         "resources": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/nested", "type": "Microsoft.Compute/virtualMachines/extensions"}]},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/e1", "type": "Microsoft.Compute/virtualMachines/extensions"},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/locks/l1", "type": "Microsoft.Authorization/locks"},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z", "type": "Microsoft.Network/privateDnsZones"},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z/A/a1", "type": "Microsoft.Network/privateDnsZones/A"},
        {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z/virtualNetworkLinks/l", "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks"},
    ]));
    s.add_document(json!({"id": "/subscriptions/s", "subscriptionId": "s"}));
    s
}

fn run(store: &Store, path: &str, query: &str) -> Result<Value, ArmError> {
    run_body(store, path, query).map(|body| serde_json::from_slice(&body.0).unwrap())
}

fn run_body(store: &Store, path: &str, query: &str) -> Result<Body, ArmError> {
    let q = Query::parse(query);
    let ctx = Ctx {
        store,
        base_url: "http://e",
        foreign_next_link: None,
        raw_path: path,
        query: &q,
        page_size: 100,
        status_only_includes_agent: true,
    };
    let lower = path.to_lowercase();
    let segs: Vec<&str> = lower.trim_matches('/').split('/').collect();
    get(&ctx, &segs)
}

fn policy_store() -> Store {
    let mut s = Store::default();
    let mg = "/providers/Microsoft.Management/managementGroups";
    let auth = "providers/Microsoft.Authorization";
    s.add_document(json!({"value": [
        {"id": "/subscriptions/s1", "type": "microsoft.resources/subscriptions", "subscriptionId": "s1",
         "properties": {"managementGroupAncestorsChain": [{"name": "MG-A"}, {"name": "root"}]}},
        {"id": "/subscriptions/s2", "type": "microsoft.resources/subscriptions", "subscriptionId": "s2",
         "properties": {"managementGroupAncestorsChain": [{"name": "mg-b"}, {"name": "root"}]}},
    ]}));
    s.add_document(json!({"value": [
        {"id": "/subscriptions/s1", "subscriptionId": "s1", "displayName": "one"},
        {"id": "/subscriptions/s2", "subscriptionId": "s2", "displayName": "two"},
    ]}));
    s.add_document(json!([
        {"id": format!("{mg}/root/{auth}/policyAssignments/at-root"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("{mg}/mg-a/{auth}/policyAssignments/at-a"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("{mg}/mg-b/{auth}/policyAssignments/at-b"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("/subscriptions/s1/{auth}/policyAssignments/at-s1"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("/subscriptions/s1/resourceGroups/rg/{auth}/policyAssignments/in-rg"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("/subscriptions/s2/{auth}/policyAssignments/at-s2"), "type": "Microsoft.Authorization/policyAssignments"},
        {"id": format!("{mg}/mg-a/{auth}/policyExemptions/x-a"), "type": "Microsoft.Authorization/policyExemptions"},
        {"id": format!("/subscriptions/s2/resourceGroups/rg/{auth}/policyExemptions/x-s2"), "type": "Microsoft.Authorization/policyExemptions"},
        {"id": format!("/{auth}/policyDefinitions/builtin"), "type": "Microsoft.Authorization/policyDefinitions", "n": 1},
        {"id": format!("{mg}/mg-a/{auth}/policySetDefinitions/set"), "type": "Microsoft.Authorization/policySetDefinitions", "n": 2},
        {"id": format!("/subscriptions/s1/{auth}/policyDefinitions/custom"), "type": "Microsoft.Authorization/policyDefinitions", "n": 3},
    ]));
    s.finish();
    s
}

fn names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["id"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn policy_lists_include_what_management_groups_above_assign() {
    let s = policy_store();
    let list = |sub: &str, kind: &str| {
        run(
            &s,
            &format!("/subscriptions/{sub}/providers/Microsoft.Authorization/{kind}"),
            "api-version=2023-04-01",
        )
        .unwrap()
    };
    assert_eq!(
        names(&list("s1", "policyAssignments")),
        vec!["at-a", "at-root", "at-s1", "in-rg"]
    );
    assert_eq!(
        names(&list("S2", "policyassignments")),
        vec!["at-b", "at-root", "at-s2"]
    );
    assert_eq!(names(&list("s1", "policyExemptions")), vec!["x-a"]);
    assert_eq!(names(&list("s2", "policyExemptions")), vec!["x-s2"]);
    // Pages like every list.
    let q = Query::parse("api-version=1");
    let ctx = Ctx {
        store: &s,
        base_url: "http://e",
        foreign_next_link: None,
        raw_path: "/subscriptions/s1/providers/Microsoft.Authorization/policyAssignments",
        query: &q,
        page_size: 3,
        status_only_includes_agent: true,
    };
    let segs = [
        "subscriptions",
        "s1",
        "providers",
        "microsoft.authorization",
        "policyassignments",
    ];
    let first: Value = serde_json::from_slice(&get(&ctx, &segs).unwrap().0).unwrap();
    assert_eq!(names(&first).len(), 3);
    assert!(first["nextLink"]
        .as_str()
        .unwrap()
        .ends_with("$skiptoken=3"));
}

#[test]
fn definitions_are_read_by_id_outside_and_inside_subscriptions() {
    let s = policy_store();
    for (path, n) in [
        ("/providers/Microsoft.Authorization/policyDefinitions/BUILTIN", 1),
        (
            "/providers/Microsoft.Management/managementGroups/MG-A/providers/Microsoft.Authorization/policySetDefinitions/set",
            2,
        ),
        (
            "/subscriptions/s1/providers/Microsoft.Authorization/policyDefinitions/custom",
            3,
        ),
    ] {
        assert_eq!(run(&s, path, "").unwrap()["n"], n, "{path}");
    }
    assert_eq!(
        run(
            &s,
            "/providers/Microsoft.Authorization/policyDefinitions/missing",
            ""
        )
        .unwrap_err()
        .status,
        404
    );
    // The container rows do not replace the subscription objects ARM answers with.
    let sub = run(&s, "/subscriptions/s1", "").unwrap();
    assert_eq!(sub["displayName"], "one");
    assert!(sub.get("properties").is_none());
    let subs = run(&s, "/subscriptions", "").unwrap();
    assert!(subs["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v.get("properties").is_none() && v.get("displayName").is_some()));
}

#[test]
fn resource_graph_answers_subscription_containers() {
    let s = policy_store();
    let graph = |size: usize, body: Value| {
        resource_graph(&s, size, body.to_string().as_bytes())
            .map(|answer| serde_json::from_slice::<Value>(&answer.0).unwrap())
    };
    let query = |subs: Value| {
        let body = json!({
            "subscriptions": subs,
            "query": "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project id, properties",
            "options": {"$top": 1000, "resultFormat": "objectArray"},
        });
        graph(100, body)
    };
    let all = query(json!(["s1", "S2"])).unwrap();
    assert_eq!(all["totalRecords"], 2);
    assert_eq!(
        all["data"][0]["properties"]["managementGroupAncestorsChain"][0]["name"],
        "MG-A"
    );
    let one = query(json!(["s2"])).unwrap();
    assert_eq!(one["count"], 1);
    assert_eq!(one["data"][0]["id"], "/subscriptions/s2");
    let paged = graph(
        1,
        json!({"query": "resourcecontainers | where type =~ 'microsoft.resources/subscriptions'"}),
    )
    .unwrap();
    assert_eq!(paged["count"], 1);
    assert!(paged["$skipToken"].is_string());
    let other = graph(
        100,
        json!({"query": "resourcecontainers | where type =~ 'microsoft.management/managementgroups'"}),
    )
    .unwrap_err();
    assert_eq!(other.status, 400);
}

#[test]
fn path_matching() {
    let s = demo_store();
    let vm = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM";
    let got = run(&s, vm, "").unwrap();
    assert!(got["properties"].get("instanceView").is_none());
    let got = run(&s, vm, "$expand=instanceView").unwrap();
    assert!(got["properties"].get("instanceView").is_some());
    let iv = run(&s, &format!("{vm}/InstanceView"), "").unwrap();
    assert_eq!(iv["osName"], "y");
    let ext = run(&s, &format!("{vm}/extensions"), "").unwrap();
    assert_eq!(ext["value"].as_array().unwrap().len(), 2);
    assert!(ext.get("nextLink").is_none());
    let locks = run(
        &s,
        "/subscriptions/s/providers/Microsoft.Authorization/locks",
        "",
    )
    .unwrap();
    assert_eq!(locks["value"].as_array().unwrap().len(), 1);
    let list = run(
        &s,
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines",
        "statusOnly=true",
    )
    .unwrap();
    let only = &list["value"][0];
    assert_eq!(
        only["properties"]["instanceView"],
        json!({"statuses": [1], "vmAgent": {}})
    );
    assert!(only["properties"].get("hardwareProfile").is_none());
    let zone = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z";
    assert_eq!(
        run(&s, &format!("{zone}/ALL"), "").unwrap()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run(&s, &format!("{zone}/A"), "").unwrap()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run(&s, &format!("{zone}/virtualNetworkLinks"), "").unwrap()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run(&s, "/subscriptions/s/resourcegroups", "").unwrap()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run(&s, "/subscriptions", "").unwrap()["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run(&s, "/subscriptions/s/nothing/here", "")
            .unwrap_err()
            .code,
        "ResourceNotFound"
    );
    assert_eq!(
        run(&s, "/subscriptions/other/resourcegroups", "")
            .unwrap_err()
            .code,
        "SubscriptionNotFound"
    );
    assert_eq!(
        run(
            &s,
            "/subscriptions/s/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines",
            ""
        )
        .unwrap_err()
        .code,
        "ResourceGroupNotFound"
    );
    assert_eq!(
        run(
            &s,
            "/subscriptions/s/providers/Microsoft.Network/locations/x/serviceTags",
            ""
        )
        .unwrap_err()
        .status,
        404
    );
    assert_eq!(
        run(&s, "/subscriptions", "$skiptoken=zz")
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn a_foreign_next_link_names_another_host_on_every_page_the_last_too() {
    let s = policy_store();
    let q = Query::parse("api-version=2021-01-01");
    let page = |page_size: usize| {
        let ctx = Ctx {
            store: &s,
            base_url: "http://e",
            foreign_next_link: Some("http://127.0.0.2:9"),
            raw_path: "/subscriptions",
            query: &q,
            page_size,
            status_only_includes_agent: true,
        };
        let body: Value =
            serde_json::from_slice(&get(&ctx, &["subscriptions"]).unwrap().0).unwrap();
        body
    };
    let whole = page(100);
    assert_eq!(names(&whole), vec!["s1", "s2"]);
    assert_eq!(
        whole["nextLink"],
        "http://127.0.0.2:9/subscriptions?api-version=2021-01-01&$skiptoken=2"
    );
    let first = page(1);
    assert_eq!(names(&first), vec!["s1"]);
    assert_eq!(
        first["nextLink"],
        "http://127.0.0.2:9/subscriptions?api-version=2021-01-01&$skiptoken=1"
    );
}
