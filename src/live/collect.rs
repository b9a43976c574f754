//! The collectors: one per resource family, each listing a type per subscription through the
//! Azure SDK crates and following `nextLink` pages. Cost grows with pages, not VMs: the only
//! per-VM call is the instance view of a VM whose agent status the `statusOnly` list did not
//! carry. Extensions come from one Resource Graph query for all subscriptions, because ARM has no
//! list of extensions wider than a single VM.
//!
//! Azure Policy is read per subscription (its assignments and exemptions lists), plus one GET per
//! definition the assignments reference: the built-in definitions number in the thousands, so
//! they are never listed.
//!
//! Every failure of a type at a scope becomes a gap (scope, type, reason) and the rest goes on.

use super::progress::Progress;
use super::throttle::Throttle;
use super::LiveOptions;
use crate::inventory::model::Gap;
use azure_core::auth::TokenCredential;
use futures::stream::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The api-version of the backup item, policy and job reads (the SDK crate's default package).
const BACKUP_API: &str = "2024-04-01";

/// The policy assignments list is read at 2023-04-01, the first api-version whose answer carries
/// `overrides` and `resourceSelectors` (both can change what an assignment's effect is).
const POLICY_ASSIGNMENTS_API: &str = "2023-04-01";
/// The exemptions list is read at 2022-07-01-preview, which adds `resourceSelectors` and
/// `assignmentScopeValidation` to what the SDK's 2020-07-01-preview model knows.
const POLICY_EXEMPTIONS_API: &str = "2022-07-01-preview";
/// The Resource Graph `resourcecontainers` rows of the subscriptions: the only read that says
/// which management groups a subscription sits under.
pub use crate::inventory::model::RESOURCE_CONTAINERS;
use crate::inventory::model::{
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
};

/// The Backup Management Service's well-known application id (DESIGN §3).
pub const BACKUP_MANAGEMENT_SERVICE_APP_ID: &str = "262044b1-e2ce-469f-a196-69ab7ada62d3";

/// What a collection produced: resources per (folder, ARM type), and the gaps.
#[derive(Default)]
pub struct Collected {
    pub files: BTreeMap<(String, String), Vec<Value>>,
    pub gaps: Vec<Gap>,
}

/// The shared state of one collection run.
pub struct Collector {
    pub(crate) options: ClientSettings,
    permits: Semaphore,
    out: Mutex<Collected>,
    progress: Arc<dyn Progress>,
    /// What one subscription's task has taken on for the whole tenant (a management group's
    /// assignment, a definition): the other subscriptions see the same ones and must not write
    /// or read them again.
    claimed: Mutex<HashSet<String>>,
}

/// What every SDK client is built from.
#[derive(Clone)]
pub struct ClientSettings {
    pub credential: Arc<dyn TokenCredential>,
    pub arm: url::Url,
    pub scope: String,
    pub throttle: Arc<Throttle>,
}

impl ClientSettings {
    fn client_options(&self) -> azure_core::ClientOptions {
        let mut options =
            azure_core::ClientOptions::default().retry(azure_core::RetryOptions::none());
        // After the (disabled) retry policy, right before the transport: there it sees every
        // response as it came, with its Retry-After and rate-limit headers, before the SDK turns
        // a 429 into an error.
        options
            .per_retry_policies_mut()
            .push(self.throttle.clone() as Arc<dyn azure_core::Policy>);
        options
    }
}

macro_rules! client {
    ($settings:expr, $path:path) => {{
        use $path as client_type;
        client_type::new(
            $settings.arm.clone(),
            $settings.credential.clone(),
            vec![$settings.scope.clone()],
            $settings.client_options(),
        )
    }};
}

/// Why a call failed, in words for the report's gap list: the status and ARM's error code when
/// there is one. Never the request's headers (they hold the token).
fn reason(error: &azure_core::Error) -> String {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, error_code } => {
            let status = u16::from(*status);
            let meaning = match status {
                401 => "not authenticated",
                403 => "not authorized (the identity needs Reader on this scope)",
                404 => "not found",
                429 => "throttled: retries exhausted",
                500..=599 => "server error: retries exhausted",
                _ => "failed",
            };
            match error_code {
                Some(code) => format!("HTTP {status} {code}: {meaning}"),
                None => format!("HTTP {status}: {meaning}"),
            }
        }
        azure_core::error::ErrorKind::DataConversion => {
            format!("the response could not be read: {error}")
        }
        azure_core::error::ErrorKind::Credential => format!("no token: {error}"),
        _ => error.to_string(),
    }
}

fn conversion(error: url::ParseError) -> azure_core::Error {
    azure_core::Error::new(azure_core::error::ErrorKind::DataConversion, error)
}

fn to_json<T: Serialize>(value: T) -> Result<Value, azure_core::Error> {
    serde_json::to_value(value)
        .map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::DataConversion, e))
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}` → (rg, name).
fn group_and_name(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.split('/').collect();
    let rg = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| parts.get(i + 1))?;
    Some((rg.to_string(), parts.last()?.to_string()))
}

fn id_of(value: &Value) -> &str {
    value.get("id").and_then(Value::as_str).unwrap_or_default()
}

impl Collector {
    pub fn new(
        settings: ClientSettings,
        concurrency: usize,
        progress: Arc<dyn Progress>,
    ) -> Collector {
        Collector {
            options: settings,
            permits: Semaphore::new(concurrency.max(1)),
            out: Mutex::new(Collected::default()),
            progress,
            claimed: Mutex::new(HashSet::new()),
        }
    }

    pub fn finish(&self) -> Collected {
        let mut out = std::mem::take(&mut *self.out.lock().unwrap_or_else(|p| p.into_inner()));
        out.gaps.sort();
        out
    }

    /// A location the tenant uses, for the service tags call (whose document covers them all).
    pub fn first_vm_location(&self) -> Option<String> {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.files
            .iter()
            .filter(|((_, what), _)| what == "Microsoft.Compute/virtualMachines")
            .flat_map(|(_, items)| items)
            .find_map(|vm| {
                vm.get("location")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    }

    fn put(&self, folder: &str, what: &str, items: Vec<Value>) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.files
            .entry((folder.to_owned(), what.to_owned()))
            .or_default()
            .extend(items);
    }

    fn gap_count(&self) -> usize {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.gaps.len()
    }

    fn gap(&self, scope: &str, what: &str, error: &azure_core::Error) {
        self.record_gap(scope, what, reason(error));
    }

    pub fn record_gap(&self, scope: &str, what: &str, reason: String) {
        tracing::warn!(scope, what, %reason, "could not read; recorded as a gap");
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.gaps.push(Gap {
            scope: scope.to_owned(),
            what: what.to_owned(),
            reason,
        });
    }

    /// True the first time `key` is claimed in this run.
    fn claim(&self, key: String) -> bool {
        let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        claimed.insert(key)
    }

    /// Runs one list call under the concurrency limit; its items land in `folder` under `what`,
    /// or a gap is recorded at `scope`. Returns the items' ids, for collectors that go deeper.
    async fn list<F>(&self, folder: &str, scope: &str, what: &str, call: F) -> Option<Vec<String>>
    where
        F: Future<Output = Result<Vec<Value>, azure_core::Error>>,
    {
        let items = self.read(folder, scope, what, call).await?;
        let ids = items.iter().map(|item| id_of(item).to_owned()).collect();
        self.put(folder, what, items);
        Some(ids)
    }

    /// As `list`, leaving the items to the caller; `folder` names the progress bar.
    async fn read<F>(&self, folder: &str, scope: &str, what: &str, call: F) -> Option<Vec<Value>>
    where
        F: Future<Output = Result<Vec<Value>, azure_core::Error>>,
    {
        self.progress.list_started(folder);
        let result = {
            let _permit = self.permits.acquire().await.ok()?;
            call.await
        };
        self.progress.list_finished(folder, result.is_err());
        match result {
            Ok(items) => {
                tracing::debug!(scope, what, items = items.len(), "listed");
                Some(items)
            }
            Err(error) => {
                self.gap(scope, what, &error);
                None
            }
        }
    }

    /// The subscriptions to scan: the ones named, or every one the identity can see. Never capped,
    /// never matched by name.
    pub async fn subscriptions(&self, named: &[String]) -> Result<Vec<Value>, azure_core::Error> {
        let client = client!(
            self.options,
            azure_mgmt_resources::package_subscriptions_2021_01::Client
        );
        // The SDK's model of this list requires `nextLink`, which ARM omits on the last page, so
        // the list is read through the azure_core pipeline directly (same policies, same token).
        let all = self
            .raw_list("/subscriptions".into(), "2021-01-01", None)
            .await?;
        let chosen: Vec<Value> = if named.is_empty() {
            all
        } else {
            let mut chosen = Vec::new();
            for wanted in named {
                match all.iter().find(|s| {
                    s.get("subscriptionId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.eq_ignore_ascii_case(wanted))
                }) {
                    Some(found) => chosen.push(found.clone()),
                    None => {
                        // Not visible in the list (e.g. a guest identity): read it directly.
                        let one = client.subscriptions_client().get(wanted.clone()).await?;
                        chosen.push(to_json(one)?);
                    }
                }
            }
            chosen
        };
        self.put("tenant", "subscriptions", chosen.clone());
        Ok(chosen)
    }

    /// All items of every page of an SDK list call, as ARM JSON. Some generated list models
    /// never report their `nextLink` (the backup items list is one), which would silently drop
    /// every page after the first; a next link left on the last page is followed here instead.
    async fn drain<P: Serialize>(
        &self,
        mut pages: azure_core::Pageable<P, azure_core::Error>,
    ) -> Result<Vec<Value>, azure_core::Error> {
        let mut items = Vec::new();
        let mut next = None;
        while let Some(page) = pages.next().await {
            let mut page = to_json(page?)?;
            if let Some(Value::Array(values)) = page.get_mut("value") {
                items.append(values);
            }
            next = page
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|link| !link.is_empty())
                .map(str::to_owned);
        }
        if let Some(link) = next {
            let url = self.options.arm.join(&link).map_err(conversion)?;
            items.extend(self.raw_pages(url).await?);
        }
        Ok(items)
    }

    /// A paged ARM list read without a typed model: for the lists whose SDK model cannot read what
    /// ARM returns.
    async fn raw_list(
        &self,
        path: String,
        api_version: &str,
        filter: Option<String>,
    ) -> Result<Vec<Value>, azure_core::Error> {
        let mut url = self.options.arm.join(&path).map_err(conversion)?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        if let Some(filter) = &filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        self.raw_pages(url).await
    }

    /// Reads `url` and every `nextLink` after it through the azure_core pipeline (the same
    /// policies and token as the SDK clients).
    async fn raw_pages(&self, mut url: url::Url) -> Result<Vec<Value>, azure_core::Error> {
        let pipeline = azure_core::Pipeline::new(
            Some("backup-doctor"),
            Some(env!("CARGO_PKG_VERSION")),
            self.options.client_options(),
            Vec::new(),
            Vec::new(),
        );
        let mut items = Vec::new();
        loop {
            let token = self
                .options
                .credential
                .get_token(&[self.options.scope.as_str()])
                .await?;
            let mut request = azure_core::Request::new(url.clone(), azure_core::Method::Get);
            request.insert_header(
                azure_core::headers::AUTHORIZATION,
                format!("Bearer {}", token.token.secret()),
            );
            let response = pipeline
                .send(&azure_core::Context::new(), &mut request)
                .await?;
            let status = response.status();
            if !status.is_success() {
                return Err(azure_core::Error::from(
                    azure_core::error::ErrorKind::HttpResponse {
                        status,
                        error_code: None,
                    },
                ));
            }
            let mut page: Value = response.json().await?;
            if let Some(Value::Array(values)) = page.get_mut("value") {
                items.append(values);
            }
            match page.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    url = self.options.arm.join(next).map_err(conversion)?;
                }
                _ => return Ok(items),
            }
        }
    }

    /// Every type the rules need, for one subscription.
    pub async fn subscription(&self, subscription: &str, options: &LiveOptions) {
        let s = subscription.to_owned();
        let scope = format!("/subscriptions/{s}");
        let settings = &self.options;
        let resources = client!(
            settings,
            azure_mgmt_resources::package_resources_2021_04::Client
        );
        let locks = client!(
            settings,
            azure_mgmt_resources::package_locks_2020_05::Client
        );
        let compute = client!(settings, azure_mgmt_compute::package_2024_07_01::Client);
        let network = client!(settings, azure_mgmt_network::package_2024_03::Client);
        let dns = client!(settings, azure_mgmt_privatedns::package_2024_06::Client);
        let keyvault = client!(
            settings,
            azure_mgmt_keyvault::package_preview_2022_02::Client
        );
        let authorization = client!(
            settings,
            azure_mgmt_authorization::package_2022_04_01::Client
        );
        let vaults = client!(
            settings,
            azure_mgmt_recoveryservices::package_2024_04::Client
        );
        let backup = client!(
            settings,
            azure_mgmt_recoveryservicesbackup::package_2024_04::Client
        );
        let policy = client!(
            settings,
            azure_mgmt_resources::package_policy_2021_06::Client
        );

        let groups = self.list(&s, &scope, "Microsoft.Resources/resourceGroups", async {
            self.drain(
                resources
                    .resource_groups_client()
                    .list(s.clone())
                    .into_stream(),
            )
            .await
        });
        let providers = self.list(&s, &scope, "Microsoft.Resources/providers", async {
            self.drain(resources.providers_client().list(s.clone()).into_stream())
                .await
        });
        let lock_list = self.list(&s, &scope, "Microsoft.Authorization/locks", async {
            self.drain(
                locks
                    .management_locks_client()
                    .list_at_subscription_level(s.clone())
                    .into_stream(),
            )
            .await
        });
        let vms = self.virtual_machines(&s, &scope, &compute);
        let disks = self.list(&s, &scope, "Microsoft.Compute/disks", async {
            self.drain(compute.disks_client().list(s.clone()).into_stream())
                .await
        });
        let encryption_sets =
            self.list(&s, &scope, "Microsoft.Compute/diskEncryptionSets", async {
                self.drain(
                    compute
                        .disk_encryption_sets_client()
                        .list(s.clone())
                        .into_stream(),
                )
                .await
            });
        let restore_points = self.list(
            &s,
            &scope,
            "Microsoft.Compute/restorePointCollections",
            async {
                self.drain(
                    compute
                        .restore_point_collections_client()
                        .list_all(s.clone())
                        .into_stream(),
                )
                .await
            },
        );
        let nics = self.list(&s, &scope, "Microsoft.Network/networkInterfaces", async {
            self.drain(
                network
                    .network_interfaces_client()
                    .list_all(s.clone())
                    .into_stream(),
            )
            .await
        });
        let vnets = self.list(&s, &scope, "Microsoft.Network/virtualNetworks", async {
            self.drain(
                network
                    .virtual_networks_client()
                    .list_all(s.clone())
                    .into_stream(),
            )
            .await
        });
        let nsgs = self.list(
            &s,
            &scope,
            "Microsoft.Network/networkSecurityGroups",
            async {
                self.drain(
                    network
                        .network_security_groups_client()
                        .list_all(s.clone())
                        .into_stream(),
                )
                .await
            },
        );
        let routes = self.list(&s, &scope, "Microsoft.Network/routeTables", async {
            self.drain(
                network
                    .route_tables_client()
                    .list_all(s.clone())
                    .into_stream(),
            )
            .await
        });
        let endpoints = self.list(&s, &scope, "Microsoft.Network/privateEndpoints", async {
            self.drain(
                network
                    .private_endpoints_client()
                    .list_by_subscription(s.clone())
                    .into_stream(),
            )
            .await
        });
        let zones = self.private_dns(&s, &scope, &dns);
        let key_vaults = self.key_vaults(&s, &scope, &keyvault);
        let assignments = self.list(
            &s,
            &scope,
            "Microsoft.Authorization/roleAssignments",
            async {
                self.drain(
                    authorization
                        .role_assignments_client()
                        .list_for_subscription(s.clone())
                        .into_stream(),
                )
                .await
            },
        );
        let definitions = self.list(
            &s,
            &scope,
            "Microsoft.Authorization/roleDefinitions",
            async {
                self.drain(
                    authorization
                        .role_definitions_client()
                        .list(scope.clone())
                        .into_stream(),
                )
                .await
            },
        );
        let recovery = self.recovery_vaults(&s, &scope, &vaults, &backup, options);
        let policies = self.policies(&s, &scope, &policy);
        futures::join!(
            groups,
            providers,
            lock_list,
            vms,
            disks,
            encryption_sets,
            restore_points,
            nics,
            vnets,
            nsgs,
            routes,
            endpoints,
            zones,
            key_vaults,
            assignments,
            definitions,
            recovery,
            policies
        );
    }

    /// The subscription's policy assignments and exemptions, then every definition and set
    /// definition the assignments reference that no other subscription has read yet.
    async fn policies(
        &self,
        s: &str,
        scope: &str,
        policy: &azure_mgmt_resources::package_policy_2021_06::Client,
    ) {
        // The unfiltered lists: what is assigned at the subscription, inside it, and at every
        // management group above it. Both are read without the SDK's package-policy-2021-06
        // models: its assignment model predates `overrides` and `resourceSelectors`, which can
        // change an assignment's effect, and its exemption model drops `resourceSelectors`;
        // re-encoding through them would silently lose those fields.
        let assignments = async {
            let Some(items) = self
                .read(
                    s,
                    scope,
                    POLICY_ASSIGNMENTS,
                    self.raw_list(
                        format!("{scope}/providers/{POLICY_ASSIGNMENTS}"),
                        POLICY_ASSIGNMENTS_API,
                        None,
                    ),
                )
                .await
            else {
                return;
            };
            let referenced: Vec<String> = items
                .iter()
                .filter_map(|a| a.pointer("/properties/policyDefinitionId"))
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            self.put_by_scope(s, POLICY_ASSIGNMENTS, items);
            self.policy_definitions(s, policy, referenced).await;
        };
        let exemptions = async {
            let items = self
                .read(
                    s,
                    scope,
                    POLICY_EXEMPTIONS,
                    self.raw_list(
                        format!("{scope}/providers/{POLICY_EXEMPTIONS}"),
                        POLICY_EXEMPTIONS_API,
                        None,
                    ),
                )
                .await;
            if let Some(items) = items {
                self.put_by_scope(s, POLICY_EXEMPTIONS, items);
            }
        };
        futures::join!(assignments, exemptions);
    }

    /// Files a subscription's list: what sits at a management group goes to `tenant/` once (every
    /// subscription under that group lists it again), the rest to the subscription's folder.
    fn put_by_scope(&self, s: &str, what: &str, items: Vec<Value>) {
        let (groups, own): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|item| at_management_group(id_of(item)));
        let groups: Vec<Value> = groups
            .into_iter()
            .filter(|item| self.claim(format!("{what} {}", id_of(item).to_ascii_lowercase())))
            .collect();
        if !groups.is_empty() {
            self.put("tenant", what, groups);
        }
        self.put(s, what, own);
    }

    /// GETs each referenced definition once per run, then the members of each set definition.
    async fn policy_definitions(
        &self,
        s: &str,
        policy: &azure_mgmt_resources::package_policy_2021_06::Client,
        mut pending: Vec<String>,
    ) {
        while !pending.is_empty() {
            let wave: Vec<String> = pending
                .drain(..)
                .filter(|id| self.claim(format!("definition {}", id.to_ascii_lowercase())))
                .collect();
            let members = futures::future::join_all(
                wave.iter().map(|id| self.policy_definition(s, policy, id)),
            )
            .await;
            pending.extend(members.into_iter().flatten());
        }
    }

    /// One definition or set definition by id; returns a set definition's member definition ids.
    async fn policy_definition(
        &self,
        s: &str,
        policy: &azure_mgmt_resources::package_policy_2021_06::Client,
        id: &str,
    ) -> Vec<String> {
        let Some(parsed) = DefinitionId::parse(id) else {
            let what = if id.to_ascii_lowercase().contains("/policysetdefinitions/") {
                POLICY_SET_DEFINITIONS
            } else {
                POLICY_DEFINITIONS
            };
            self.record_gap(
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
        let Some(mut fetched) = self.read(s, id, what, call).await else {
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
        self.put(folder, what, vec![definition]);
        members
    }

    /// The VM models, then their run-time status from the `statusOnly` list, merged by id into
    /// `properties.instanceView` (the shape of DESIGN §3). A VM whose status lacks the agent gets
    /// its own instance view call; the docs do not promise `statusOnly` carries the agent.
    async fn virtual_machines(
        &self,
        s: &str,
        scope: &str,
        compute: &azure_mgmt_compute::package_2024_07_01::Client,
    ) {
        self.progress.list_started(s);
        let gaps_before = self.gap_count();
        self.virtual_machines_and_status(s, scope, compute).await;
        self.progress
            .list_finished(s, self.gap_count() > gaps_before);
    }

    async fn virtual_machines_and_status(
        &self,
        s: &str,
        scope: &str,
        compute: &azure_mgmt_compute::package_2024_07_01::Client,
    ) {
        const WHAT: &str = "Microsoft.Compute/virtualMachines";
        let models = async {
            let _permit = self.permits.acquire().await;
            self.drain(compute.virtual_machines_client().list_all(s).into_stream())
                .await
        };
        let statuses = async {
            let _permit = self.permits.acquire().await;
            self.drain(
                compute
                    .virtual_machines_client()
                    .list_all(s)
                    .status_only("true")
                    .into_stream(),
            )
            .await
        };
        let (models, statuses) = futures::join!(models, statuses);
        let mut models = match models {
            Ok(models) => models,
            Err(error) => return self.gap(scope, WHAT, &error),
        };
        let mut views: BTreeMap<String, Value> = BTreeMap::new();
        match statuses {
            Ok(items) => {
                for mut item in items {
                    let id = id_of(&item).to_ascii_lowercase();
                    if let Some(view) = item.pointer_mut("/properties/instanceView") {
                        views.insert(id, view.take());
                    }
                }
            }
            Err(error) => self.gap(
                scope,
                "Microsoft.Compute/virtualMachines/instanceView",
                &error,
            ),
        }
        let missing: Vec<usize> = models
            .iter()
            .enumerate()
            .filter(|(_, vm)| {
                views
                    .get(&id_of(vm).to_ascii_lowercase())
                    .is_none_or(needs_own_instance_view)
            })
            .map(|(i, _)| i)
            .collect();
        let fetched = futures::future::join_all(missing.iter().map(|&i| {
            let id = id_of(&models[i]).to_owned();
            async move {
                let (rg, name) = group_and_name(&id)?;
                let _permit = self.permits.acquire().await.ok()?;
                let result = compute
                    .virtual_machines_client()
                    .instance_view(rg, name, s)
                    .await
                    .and_then(to_json);
                Some((id, result))
            }
        }))
        .await;
        for (id, result) in fetched.into_iter().flatten() {
            match result {
                Ok(view) => {
                    views.insert(id.to_ascii_lowercase(), view);
                }
                Err(error) => self.gap(
                    &id,
                    "Microsoft.Compute/virtualMachines/instanceView",
                    &error,
                ),
            }
        }
        for vm in &mut models {
            if let Some(view) = views.remove(&id_of(vm).to_ascii_lowercase()) {
                if let Some(properties) = vm.get_mut("properties").and_then(Value::as_object_mut) {
                    properties.insert("instanceView".into(), view);
                }
            }
        }
        self.put(s, WHAT, models);
    }

    /// Private DNS zones, then each zone's virtual network links and A records.
    async fn private_dns(
        &self,
        s: &str,
        scope: &str,
        dns: &azure_mgmt_privatedns::package_2024_06::Client,
    ) {
        let Some(zones) = self
            .list(s, scope, "Microsoft.Network/privateDnsZones", async {
                self.drain(dns.private_zones_client().list(s).into_stream())
                    .await
            })
            .await
        else {
            return;
        };
        let children = zones.into_iter().filter_map(|id| {
            let (rg, name) = group_and_name(&id)?;
            Some(async move {
                let links = self.list(
                    s,
                    &id,
                    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                    async {
                        self.drain(
                            dns.virtual_network_links_client()
                                .list(&rg, &name, s)
                                .into_stream(),
                        )
                        .await
                    },
                );
                let records = self.list(s, &id, "Microsoft.Network/privateDnsZones/A", async {
                    self.drain(
                        dns.record_sets_client()
                            .list_by_type(&rg, &name, "A", s)
                            .into_stream(),
                    )
                    .await
                });
                futures::join!(links, records);
            })
        });
        futures::future::join_all(children).await;
    }

    /// Key vaults, then the metadata (never the values) of each vault's keys and secrets.
    async fn key_vaults(
        &self,
        s: &str,
        scope: &str,
        keyvault: &azure_mgmt_keyvault::package_preview_2022_02::Client,
    ) {
        let Some(vaults) = self
            .list(s, scope, "Microsoft.KeyVault/vaults", async {
                self.drain(
                    keyvault
                        .vaults_client()
                        .list_by_subscription(s)
                        .into_stream(),
                )
                .await
            })
            .await
        else {
            return;
        };
        let children = vaults.into_iter().filter_map(|id| {
            let (rg, name) = group_and_name(&id)?;
            Some(async move {
                let keys = self.list(s, &id, "Microsoft.KeyVault/vaults/keys", async {
                    self.drain(keyvault.keys_client().list(s, &rg, &name).into_stream())
                        .await
                });
                let secrets = self.list(s, &id, "Microsoft.KeyVault/vaults/secrets", async {
                    self.drain(keyvault.secrets_client().list(&rg, &name, s).into_stream())
                        .await
                });
                futures::join!(keys, secrets);
            })
        });
        futures::future::join_all(children).await;
    }

    /// Recovery Services vaults, then each vault's protected items, policies and the jobs of the
    /// window.
    async fn recovery_vaults(
        &self,
        s: &str,
        scope: &str,
        vaults: &azure_mgmt_recoveryservices::package_2024_04::Client,
        backup: &azure_mgmt_recoveryservicesbackup::package_2024_04::Client,
        options: &LiveOptions,
    ) {
        let Some(found) = self
            .list(s, scope, "Microsoft.RecoveryServices/vaults", async {
                self.drain(
                    vaults
                        .vaults_client()
                        .list_by_subscription_id(s)
                        .into_stream(),
                )
                .await
            })
            .await
        else {
            return;
        };
        let jobs_filter = options.jobs_filter();
        let children = found.into_iter().filter_map(|id| {
            let (rg, name) = group_and_name(&id)?;
            let jobs_filter = jobs_filter.clone();
            Some(async move {
                let items = self.list(
                    s,
                    &id,
                    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems",
                    async {
                        self.drain(
                            backup
                                .backup_protected_items_client()
                                .list(&name, &rg, s)
                                .into_stream(),
                        )
                        .await
                    },
                );
                // Policies and jobs are read without the SDK's models: the policy model cannot
                // read `scheduleRunTimes` (date-times in an array lose their RFC 3339 format in
                // the generated code) and the job model takes `errorCode` as an integer only,
                // while DESIGN §3 accepts the symbolic codes too.
                let vault_path = format!("/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{name}");
                let policies = self.list(
                    s,
                    &id,
                    "Microsoft.RecoveryServices/vaults/backupPolicies",
                    self.raw_list(format!("{vault_path}/backupPolicies"), BACKUP_API, None),
                );
                let jobs = self.list(
                    s,
                    &id,
                    "Microsoft.RecoveryServices/vaults/backupJobs",
                    self.raw_list(format!("{vault_path}/backupJobs"), BACKUP_API, Some(jobs_filter)),
                );
                futures::join!(items, policies, jobs);
            })
        });
        futures::future::join_all(children).await;
    }

    /// The VM extensions of all subscriptions, in one Resource Graph query paged by skip token.
    pub async fn extensions(&self, subscriptions: &[String]) {
        self.progress.list_started("tenant");
        let gaps_before = self.gap_count();
        self.extensions_by_graph(subscriptions).await;
        self.progress
            .list_finished("tenant", self.gap_count() > gaps_before);
    }

    async fn extensions_by_graph(&self, subscriptions: &[String]) {
        const WHAT: &str = "Microsoft.Compute/virtualMachines/extensions";
        let rows = match self
            .graph_rows(
                "resources | where type =~ 'microsoft.compute/virtualmachines/extensions'",
                subscriptions,
            )
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                for s in subscriptions {
                    self.gap(&format!("/subscriptions/{s}"), WHAT, &error);
                }
                return;
            }
        };
        let mut by_subscription: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for row in &rows {
            let subscription = row
                .get("subscriptionId")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .or_else(|| super::throttle::scope_of(id_of(row)).into())
                .unwrap_or_default();
            by_subscription
                .entry(subscription)
                .or_default()
                .push(arm_shape(row));
        }
        for s in subscriptions {
            let items = by_subscription
                .remove(&s.to_ascii_lowercase())
                .unwrap_or_default();
            self.put(s, WHAT, items);
        }
    }

    /// The subscriptions' Resource Graph container rows, in one query for all of them: ARM's own
    /// subscription objects do not say which management groups hold a subscription, and policy
    /// assigned at a management group applies through them. The rows are kept as Resource Graph
    /// returns them (`managementGroupAncestorsChain`, nearest parent first).
    pub async fn resource_containers(&self, subscriptions: &[String]) {
        self.progress.list_started("tenant");
        let result = self
            .graph_rows(
                "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' \
                 | project id, name, type, tenantId, subscriptionId, properties",
                subscriptions,
            )
            .await;
        self.progress.list_finished("tenant", result.is_err());
        match result {
            Ok(rows) => self.put("tenant", RESOURCE_CONTAINERS, rows),
            Err(error) => {
                // Per subscription, as for extensions: each one's ancestry is what is unknown.
                for s in subscriptions {
                    self.gap(&format!("/subscriptions/{s}"), RESOURCE_CONTAINERS, &error);
                }
            }
        }
    }

    /// Every row of a Resource Graph query over `subscriptions`, paged by skip token, 1,000 rows
    /// a page (Resource Graph's most).
    async fn graph_rows(
        &self,
        query: &str,
        subscriptions: &[String],
    ) -> Result<Vec<Value>, azure_core::Error> {
        let graph = client!(
            self.options,
            azure_mgmt_resourcegraph::package_preview_2023_09::Client
        );
        use azure_mgmt_resourcegraph::package_preview_2023_09::models::{
            query_request_options::ResultFormat, QueryRequest, QueryRequestOptions,
        };
        let mut skip_token: Option<String> = None;
        let mut rows = Vec::new();
        loop {
            let mut request = QueryRequest::new(query.to_owned());
            request.subscriptions = subscriptions.to_vec();
            let mut query_options = QueryRequestOptions::new();
            query_options.top = Some(1000);
            query_options.skip_token = skip_token.clone();
            query_options.result_format = Some(ResultFormat::ObjectArray);
            request.options = Some(query_options);
            let mut response = {
                let _permit = self.permits.acquire().await;
                graph.resources(request).await?
            };
            if let Value::Array(page) = response.data.take() {
                rows.extend(page);
            }
            skip_token = response.skip_token.filter(|t| !t.is_empty());
            if skip_token.is_none() {
                return Ok(rows);
            }
        }
    }

    /// The service tags document, once: it is the same for every location of a cloud.
    pub async fn service_tags(&self, subscription: &str, location: &str) {
        let network = client!(self.options, azure_mgmt_network::package_2024_03::Client);
        let scope = format!("/subscriptions/{subscription}");
        self.list("tenant", &scope, "Microsoft.Network/serviceTags", async {
            let _permit = ();
            let document = network
                .service_tags_client()
                .list(location, subscription)
                .await
                .and_then(to_json)?;
            Ok(vec![document])
        })
        .await;
    }

    /// The Backup Management Service's service principal, from Microsoft Graph.
    pub async fn backup_service_principal(&self, graph: &url::Url) {
        const WHAT: &str = "graph/servicePrincipals";
        let result = async {
            let scope = format!("{}/.default", graph.as_str().trim_end_matches('/'));
            let token = self.options.credential.get_token(&[scope.as_str()]).await?;
            let mut url = graph.join("/v1.0/servicePrincipals").map_err(|e| {
                azure_core::Error::new(azure_core::error::ErrorKind::DataConversion, e)
            })?;
            url.query_pairs_mut().append_pair(
                "$filter",
                &format!("appId eq '{BACKUP_MANAGEMENT_SERVICE_APP_ID}'"),
            );
            let mut request = azure_core::Request::new(url, azure_core::Method::Get);
            request.insert_header(
                azure_core::headers::AUTHORIZATION,
                format!("Bearer {}", token.token.secret()),
            );
            self.options
                .throttle
                .stats
                .calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = azure_core::new_http_client()
                .execute_request(&request)
                .await?;
            let status = response.status();
            if !status.is_success() {
                return Err(azure_core::Error::from(
                    azure_core::error::ErrorKind::HttpResponse {
                        status,
                        error_code: None,
                    },
                ));
            }
            let body: Value = response.json().await?;
            Ok(body
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default())
        }
        .await;
        match result {
            Ok(items) => self.put("tenant", WHAT, items),
            Err(error) => self.gap("/", WHAT, &error),
        }
    }
}

/// Whether a `statusOnly` instance view lacks what the VM's own instance view would add: the
/// agent of a VM that runs (or whose power state is not said). A stopped or deallocated VM has
/// no agent status anywhere, so a call for it would cost a read and add nothing.
fn needs_own_instance_view(view: &Value) -> bool {
    if view.get("vmAgent").is_some() {
        return false;
    }
    let power = view
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("code").and_then(Value::as_str))
        .find_map(|code| code.strip_prefix("PowerState/"));
    matches!(power, None | Some("running") | Some("starting"))
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

/// A Resource Graph row as the ARM resource it describes: the columns ARM does not return
/// (`subscriptionId`, `resourceGroup`, `tenantId`, …) are dropped.
fn arm_shape(row: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["id", "name", "type", "location", "tags", "properties"] {
        if let Some(value) = row.get(key) {
            if !value.is_null() {
                out.insert(key.into(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Files of a collection, as DESIGN §3 lays them out: one per folder and type.
pub fn file_name(what: &str) -> String {
    if what == "graph/servicePrincipals" {
        return "graph.servicePrincipals.json".into();
    }
    if what == "subscriptions" {
        return "subscriptions.json".into();
    }
    if what == "Microsoft.Resources/providers" {
        return "providers.json".into();
    }
    format!("{}.json", what.replace('/', "."))
}

pub fn list_body(items: Vec<Value>) -> Value {
    json!({ "value": items })
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
