//! The collector: what every subscription's lists share (the run's state, the concurrency limit,
//! gaps, the files of the snapshot) and the per-subscription driver. Which lists a subscription
//! gets is the registry's word: every kind `inventory::registry` lists per subscription is read
//! once, and every kind it lists under a parent is read under each resource of that parent. How
//! a kind is read (its Azure SDK client, so its api-version) is its family's word: one file per
//! resource family holds a table of `Read`s.
//!
//! Cost grows with pages, not VMs: the only per-VM call is the instance view of a VM whose agent
//! status the `statusOnly` list did not carry. Extensions come from one Resource Graph query for
//! all subscriptions (`graph`), because ARM has no list of extensions wider than a single VM.
//! Every page after the first is followed in `pages`.
//!
//! Every failure of a type at a scope becomes a gap (scope, type, reason) and the rest goes on.

use super::hosts::HostGuard;
use super::progress::Progress;
use super::reauth::Reauth;
use super::throttle::Throttle;
use super::LiveOptions;
use crate::inventory::model::Gap;
use crate::inventory::types::{PROVIDERS, SERVICE_TAGS, VIRTUAL_MACHINES};
use crate::inventory::{Kind, Listing, ResourceType, RESOURCE_TYPES};
use azure_core::auth::TokenCredential;
use futures::future::{join_all, BoxFuture};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// `fn $name(&Subscription or &Collector) -> $client`: a family's SDK client. Its package fixes
/// the api-version of every call made through it.
macro_rules! sdk_client {
    ($name:ident: $client:ty) => {
        fn $name(at: &impl AsRef<$crate::live::collect::ClientSettings>) -> $client {
            let settings = at.as_ref();
            <$client>::new(
                settings.arm.clone(),
                settings.credential.clone(),
                vec![settings.scope.clone()],
                settings.client_options(),
            )
        }
    };
}

/// A family's `READS` table, one row a kind, `Kind: form |arguments| items;`:
/// - `list |sub| items`: a list per subscription (`Read::List`);
/// - `child |sub, parent| items`: a list under each resource of the registered parent;
/// - `own |sub| future`: a read of its own (`Read::Own`).
///
/// Lists are read as ARM JSON (`Subscription::arm_list`, `arm_child_list`), never re-encoded
/// through the SDK's models: those leave an empty list out when they serialise, and the loader
/// must tell `"dataDisks": []` (ARM said none) from a field that was not sent.
macro_rules! reads {
    ($($kind:ident: $form:ident |$($argument:ident),+| $body:expr;)*) => {
        pub(super) const READS: &[(Kind, Read)] = &[$((Kind::$kind, reads!(@$form |$($argument),+| $body)),)*];
    };
    (@list |$sub:ident| $items:expr) => {
        Read::List(|$sub| $items)
    };
    (@child |$sub:ident, $parent:ident| $items:expr) => {
        Read::Child(|$sub, $parent| $items)
    };
    (@own |$sub:ident| $read:expr) => {
        Read::Own(|$sub| Box::pin($read))
    };
}

mod authorization;
mod backup;
pub mod changes;
mod compute;
mod graph;
mod keyvault;
mod network;
pub mod output;
mod pages;
mod resources;

/// How each family reads the kinds it owns; together they cover every kind the registry lists
/// per subscription or under a parent, once (a test holds them to that).
const FAMILIES: &[&[(Kind, Read)]] = &[
    resources::READS,
    compute::READS,
    network::READS,
    authorization::READS,
    keyvault::READS,
    backup::READS,
];

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
    /// Holds every request to the configured endpoints (`live::hosts`).
    pub guard: Arc<HostGuard>,
    /// Re-sends a request whose token was refused once with a fresh one (`live::reauth`).
    pub reauth: Arc<Reauth>,
    /// Every call goes out through it (`live::transport`): a timeout per call, no redirects.
    pub http: Arc<dyn azure_core::HttpClient>,
}

impl ClientSettings {
    fn client_options(&self) -> azure_core::ClientOptions {
        let mut options =
            azure_core::ClientOptions::new(azure_core::TransportOptions::new(self.http.clone()))
                .retry(azure_core::RetryOptions::none());
        // After the (disabled) retry policy, right before the transport: there the throttle sees
        // every response as it came, with its Retry-After and rate-limit headers, before the SDK
        // turns a 429 into an error. The host guard goes first, so a request it refuses neither
        // waits for nor spends the read budget, nor gets a fresh token from the re-auth policy.
        options.per_retry_policies_mut().extend([
            self.guard.clone() as Arc<dyn azure_core::Policy>,
            self.reauth.clone() as Arc<dyn azure_core::Policy>,
            self.throttle.clone() as Arc<dyn azure_core::Policy>,
        ]);
        options
    }
}

/// Why a call failed, in words for the report's gap list: the status and ARM's error code when
/// there is one. Never the request's headers (they hold the token).
fn reason(error: &azure_core::Error) -> String {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, error_code } => {
            let status = u16::from(*status);
            let meaning = match status {
                202 => "accepted, not answered (an operation still running; not polled)",
                300..=399 => {
                    "redirected (not followed: the token goes only to the configured endpoints)"
                }
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
        azure_core::error::ErrorKind::DataConversion => format!(
            "the response could not be read: {}",
            super::transport::described(error)
        ),
        azure_core::error::ErrorKind::Credential => format!("no token: {error}"),
        azure_core::error::ErrorKind::Io if super::transport::is_timeout(error) => {
            "no answer within the per-call timeout (--call-timeout), retries exhausted".to_owned()
        }
        azure_core::error::ErrorKind::Io => format!(
            "the connection failed: {}",
            super::transport::described(error)
        ),
        _ => error.to_string(),
    }
}

fn conversion<E>(error: E) -> azure_core::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    azure_core::Error::new(azure_core::error::ErrorKind::DataConversion, error)
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value, azure_core::Error> {
    serde_json::to_value(value).map_err(conversion)
}

fn id_of(value: &Value) -> &str {
    value.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// A resource that child lists are read under, with the parts of its id the SDK calls take.
struct Parent {
    id: String,
    group: String,
    name: String,
    /// The path child lists are read under, as the scan's subscription list spells the
    /// subscription: `/subscriptions/{s}/resourceGroups/{rg}/providers/{type}/{name}`.
    path: String,
}

impl Parent {
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`; `None` for an id
    /// outside a resource group.
    fn of(id: String) -> Option<Parent> {
        let parts: Vec<&str> = id.split('/').collect();
        let group = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
            .and_then(|i| parts.get(i + 1))?
            .to_string();
        let name = parts.last()?.to_string();
        Some(Parent {
            id,
            group,
            name,
            path: String::new(),
        })
    }

    /// As `of`, for a resource of type `what` in subscription `subscription`.
    fn under(subscription: &str, what: &str, id: String) -> Option<Parent> {
        let mut parent = Parent::of(id)?;
        parent.path = format!(
            "/subscriptions/{subscription}/resourceGroups/{}/providers/{what}/{}",
            parent.group, parent.name
        );
        Some(parent)
    }
}

/// All items of a list, every page of it, as ARM JSON.
type Items<'a> = BoxFuture<'a, Result<Vec<Value>, azure_core::Error>>;

/// How a family reads one kind of the registry.
#[derive(Clone, Copy)]
enum Read {
    /// A list per subscription, filed in the subscription's folder under the kind's ARM type;
    /// the kinds the registry lists under this one are then read under each of its resources.
    List(for<'a> fn(&'a Subscription<'a>) -> Items<'a>),
    /// A list under one resource of the kind's registered parent, filed as `List`'s are.
    Child(for<'a> fn(&'a Subscription<'a>, &'a Parent) -> Items<'a>),
    /// A read that files what it read and records its gaps itself: the VMs with their run-time
    /// status, the policy lists filed by the scope they sit at.
    Own(for<'a> fn(&'a Subscription<'a>) -> BoxFuture<'a, ()>),
}

fn reader(kind: Kind) -> Option<Read> {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .find(|(owned, _)| *owned == kind)
        .map(|(_, read)| *read)
}

/// One subscription's reads: where they file, and what they share.
struct Subscription<'a> {
    collector: &'a Collector,
    /// As the scan's subscription list spells it: the folder its files go to.
    id: &'a str,
    /// `/subscriptions/{id}`, the scope of its gaps.
    scope: String,
    /// The backup jobs filter of the run's window.
    jobs_filter: String,
}

impl AsRef<ClientSettings> for Subscription<'_> {
    fn as_ref(&self) -> &ClientSettings {
        &self.collector.options
    }
}

impl AsRef<ClientSettings> for Collector {
    fn as_ref(&self) -> &ClientSettings {
        &self.options
    }
}

impl Subscription<'_> {
    /// Every kind the registry lists per subscription, all at once.
    async fn read_all(&self) {
        let reads = RESOURCE_TYPES
            .iter()
            .filter(|descriptor| descriptor.listing == Listing::PerSubscription)
            .map(|descriptor| self.read(descriptor));
        join_all(reads).await;
    }

    async fn read(&self, descriptor: &'static ResourceType) {
        let Some(what) = descriptor.arm_type else {
            return;
        };
        match reader(descriptor.kind) {
            Some(Read::List(list)) => {
                let collector = self.collector;
                if let Some(ids) = collector.list(self.id, &self.scope, what, list(self)).await {
                    self.read_children(what, ids).await;
                }
            }
            Some(Read::Own(read)) => read(self).await,
            // The registry's coverage test rules out a kind listed per subscription that only
            // has a child list, or none.
            Some(Read::Child(_)) | None => {}
        }
    }

    /// The kinds the registry lists under `parent_type`, under each of `ids`.
    async fn read_children(&self, parent_type: &str, ids: Vec<String>) {
        let lists: Vec<(&str, _)> = RESOURCE_TYPES
            .iter()
            .filter(|d| matches!(d.listing, Listing::Child { parent } if parent == parent_type))
            .filter_map(|d| match reader(d.kind)? {
                Read::Child(list) => Some((d.arm_type?, list)),
                Read::List(_) | Read::Own(_) => None,
            })
            .collect();
        if lists.is_empty() {
            return;
        }
        let parents: Vec<Parent> = ids
            .into_iter()
            .filter_map(|id| Parent::under(self.id, parent_type, id))
            .collect();
        let collector = self.collector;
        join_all(parents.iter().map(|parent| {
            join_all(
                lists.iter().map(|(what, list)| {
                    collector.list(self.id, &parent.id, what, list(self, parent))
                }),
            )
        }))
        .await;
    }
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

    /// Every kind the rules need, for one subscription.
    pub async fn subscription(&self, subscription: &str, options: &LiveOptions) {
        Subscription {
            collector: self,
            id: subscription,
            scope: format!("/subscriptions/{subscription}"),
            jobs_filter: options.jobs_filter(),
        }
        .read_all()
        .await;
    }

    /// A location the tenant uses, for the service tags call (whose document covers them all).
    pub fn first_vm_location(&self) -> Option<String> {
        let out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.files
            .iter()
            .filter(|((_, what), _)| what == VIRTUAL_MACHINES)
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
    /// or a gap is recorded at `scope`. Returns the items' ids, for the lists under them.
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

    /// Runs `read`, a read of several calls, as one list of `folder`'s progress bar, which ends
    /// as a gap if any call of it recorded one.
    async fn counted_as_one_list(&self, folder: &str, read: impl Future<Output = ()>) {
        self.progress.list_started(folder);
        let gaps_before = self.gap_count();
        read.await;
        self.progress
            .list_finished(folder, self.gap_count() > gaps_before);
    }
}

/// One file of a collection, as docs/snapshots.md lays them out: `{folder}/{type}.json` with the
/// type's `/` as `.`, holding the list body ARM returns (the service tags document as it is).
pub fn snapshot_file(folder: &str, what: &str, items: Vec<Value>) -> (PathBuf, Value) {
    let name = if what == PROVIDERS {
        "providers.json".to_owned()
    } else {
        format!("{}.json", what.replace('/', "."))
    };
    let body = if what == SERVICE_TAGS && items.len() == 1 {
        items.into_iter().next().unwrap_or_default()
    } else {
        json!({ "value": items })
    };
    (Path::new(folder).join(name), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_read_per_subscription_or_under_a_parent_has_one_reader_of_its_form() {
        for descriptor in RESOURCE_TYPES {
            let readers: Vec<Read> = FAMILIES
                .iter()
                .flat_map(|family| family.iter())
                .filter(|(kind, _)| *kind == descriptor.kind)
                .map(|(_, read)| *read)
                .collect();
            let fits = match (descriptor.listing, readers.as_slice()) {
                (Listing::PerSubscription, [Read::List(_) | Read::Own(_)]) => true,
                (Listing::Child { .. }, [Read::Child(_)]) => true,
                (Listing::PerSubscription | Listing::Child { .. }, _) => false,
                (_, readers) => readers.is_empty(),
            };
            assert!(fits, "{:?} ({:?})", descriptor.kind, descriptor.listing);
            if !readers.is_empty() {
                assert!(descriptor.arm_type.is_some(), "{:?}", descriptor.kind);
            }
        }
    }

    #[test]
    fn parents_are_read_from_resource_ids() {
        let parent = Parent::of(
            "/subscriptions/s/resourceGroups/rg-1/providers/Microsoft.KeyVault/vaults/kv".into(),
        )
        .unwrap();
        assert_eq!(
            (parent.group.as_str(), parent.name.as_str()),
            ("rg-1", "kv")
        );
        assert!(
            Parent::of("/subscriptions/s/providers/Microsoft.KeyVault/vaults/kv".into()).is_none()
        );
    }

    #[test]
    fn files_are_named_by_folder_and_type() {
        let (path, body) = snapshot_file("s", "Microsoft.Compute/disks", vec![json!({"id": "d"})]);
        assert_eq!(path, Path::new("s/Microsoft.Compute.disks.json"));
        assert_eq!(body, json!({"value": [{"id": "d"}]}));
        let (path, _) = snapshot_file("s", PROVIDERS, Vec::new());
        assert_eq!(path, Path::new("s/providers.json"));
        let (path, body) = snapshot_file("tenant", SERVICE_TAGS, vec![json!({"values": []})]);
        assert_eq!(path, Path::new("tenant/Microsoft.Network.serviceTags.json"));
        assert_eq!(body, json!({"values": []}));
    }
}
