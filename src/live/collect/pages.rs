//! Reading a list to its end: the pages of an SDK list, and the lists read without a typed model
//! through the same azure_core pipeline. Every `nextLink` the collector follows is followed here.

use super::{conversion, to_json, Collector, Items, Subscription};
use azure_core::auth::AccessToken;
use futures::stream::StreamExt;
use serde::Serialize;
use serde_json::Value;

impl Subscription<'_> {
    /// Every item of an SDK list call of this subscription, as ARM JSON.
    pub(super) fn pages<'a, P>(
        &'a self,
        pages: azure_core::Pageable<P, azure_core::Error>,
    ) -> Items<'a>
    where
        P: Serialize + Send + 'static,
    {
        Box::pin(self.collector.drain(pages))
    }

    /// Every item of a list at `path` read without a typed model, for the lists whose SDK model
    /// cannot read what ARM returns.
    pub(super) fn raw_list(
        &self,
        path: String,
        api_version: &'static str,
        filter: Option<String>,
    ) -> Items<'_> {
        Box::pin(self.collector.raw_list(path, api_version, filter))
    }
}

impl Collector {
    /// All items of every page of an SDK list call, as ARM JSON. Some generated list models
    /// never report their `nextLink` (the backup items list is one), which would silently drop
    /// every page after the first; a next link left on the last page is followed here instead.
    pub(super) async fn drain<P: Serialize>(
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
            let url = self.next_page(&link)?;
            items.extend(self.raw_pages(url).await?.complete()?);
        }
        Ok(items)
    }

    /// A paged ARM list read without a typed model.
    pub(super) async fn raw_list(
        &self,
        path: String,
        api_version: &str,
        filter: Option<String>,
    ) -> Result<Vec<Value>, azure_core::Error> {
        self.raw_list_pages(path, api_version, filter)
            .await?
            .complete()
    }

    /// As `raw_list`, keeping the pages read before a later one failed.
    pub(super) async fn raw_list_pages(
        &self,
        path: String,
        api_version: &str,
        filter: Option<String>,
    ) -> Result<Pages, azure_core::Error> {
        let mut url = self.options.arm.join(&path).map_err(conversion)?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        if let Some(filter) = &filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        self.raw_pages(url).await
    }

    /// The URL of the page a `nextLink` names, if it is on a configured endpoint: a link to any
    /// other host is never followed (`live::hosts`).
    fn next_page(&self, link: &str) -> Result<url::Url, azure_core::Error> {
        let url = self.options.arm.join(link).map_err(conversion)?;
        self.options.guard.check(&url, "nextLink")?;
        Ok(url)
    }

    /// Reads `url` and every `nextLink` after it through the azure_core pipeline (the same
    /// policies and token as the SDK clients). Fails when the first page does; a later page
    /// that cannot be read ends the list with the error beside the items read so far.
    async fn raw_pages(&self, url: url::Url) -> Result<Pages, azure_core::Error> {
        let pipeline = azure_core::Pipeline::new(
            Some("backup-doctor"),
            Some(env!("CARGO_PKG_VERSION")),
            self.options.client_options(),
            Vec::new(),
            Vec::new(),
        );
        let mut pages = Pages::default();
        let mut next = Some(Ok(url));
        while let Some(url) = next.take() {
            let page = async {
                let url = url?;
                let token = self
                    .options
                    .credential
                    .get_token(&[self.options.scope.as_str()])
                    .await?;
                let mut request = bearer_get(url, &token);
                let response = pipeline
                    .send(&azure_core::Context::new(), &mut request)
                    .await?;
                succeeded(response.status())?;
                response.json::<Value>().await
            };
            let mut page = match page.await {
                Ok(page) => page,
                Err(error) if pages.read == 0 => return Err(error),
                Err(error) => {
                    pages.stopped = Some(error);
                    break;
                }
            };
            pages.read += 1;
            if let Some(Value::Array(values)) = page.get_mut("value") {
                pages.items.append(values);
            }
            next = page
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|link| !link.is_empty())
                .map(|link| self.next_page(link));
        }
        Ok(pages)
    }
}

/// What a paged read got: the items of the pages it read, and why it stopped before the last
/// page if it did.
#[derive(Default)]
pub(super) struct Pages {
    pub items: Vec<Value>,
    pub stopped: Option<azure_core::Error>,
    read: usize,
}

impl Pages {
    /// The whole list, or the error that cut it short: a list with pages missing is not a list.
    pub fn complete(self) -> Result<Vec<Value>, azure_core::Error> {
        match self.stopped {
            Some(error) => Err(error),
            None => Ok(self.items),
        }
    }
}

/// A failed response as the error an SDK client gives for it, without ARM's error code (these
/// reads do not parse the error body).
pub(super) fn succeeded(status: azure_core::StatusCode) -> Result<(), azure_core::Error> {
    if status.is_success() {
        return Ok(());
    }
    Err(azure_core::Error::from(
        azure_core::error::ErrorKind::HttpResponse {
            status,
            error_code: None,
        },
    ))
}

/// A GET of `url` that carries `token`.
pub(super) fn bearer_get(url: url::Url, token: &AccessToken) -> azure_core::Request {
    let mut request = azure_core::Request::new(url, azure_core::Method::Get);
    request.insert_header(
        azure_core::headers::AUTHORIZATION,
        format!("Bearer {}", token.token.secret()),
    );
    request
}
