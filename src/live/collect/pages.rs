//! Reading a list to its end, as ARM JSON, through the azure_core pipeline the SDK clients use
//! (the same policies and token). Every `nextLink` the collector follows is followed here.

use super::{conversion, Collector, Items, Parent, Subscription};
use azure_core::auth::AccessToken;
use serde_json::Value;

impl Subscription<'_> {
    /// Every item of the list at `{subscription scope}/{path}`, as ARM returned it.
    pub(super) fn arm_list(&self, path: &str, api_version: &'static str) -> Items<'_> {
        self.raw_list(format!("{}/{path}", self.scope), api_version, None)
    }

    /// Every item of the list at `{parent}/{path}`, as ARM returned it.
    pub(super) fn arm_child_list<'a>(
        &'a self,
        parent: &Parent,
        path: &str,
        api_version: &'static str,
    ) -> Items<'a> {
        self.raw_list(format!("{}/{path}", parent.path), api_version, None)
    }

    /// Every item of a list at `path` (from the endpoint's root), as ARM returned it, with one
    /// more query parameter if `query` names one (`$filter`, `statusOnly`).
    pub(super) fn raw_list(
        &self,
        path: String,
        api_version: &'static str,
        query: Option<(&'static str, String)>,
    ) -> Items<'_> {
        Box::pin(self.collector.raw_list(path, api_version, query))
    }
}

impl Collector {
    /// A paged ARM list read without a typed model.
    pub(super) async fn raw_list(
        &self,
        path: String,
        api_version: &str,
        query: Option<(&'static str, String)>,
    ) -> Result<Vec<Value>, azure_core::Error> {
        self.raw_list_pages(path, api_version, query)
            .await?
            .complete()
    }

    /// As `raw_list`, keeping the pages read before a later one failed.
    pub(super) async fn raw_list_pages(
        &self,
        path: String,
        api_version: &str,
        query: Option<(&'static str, String)>,
    ) -> Result<Pages, azure_core::Error> {
        let mut url = self.options.arm.join(&path).map_err(conversion)?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        if let Some((name, value)) = &query {
            url.query_pairs_mut().append_pair(name, value);
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

    /// One ARM object at `path` (from the endpoint's root), as ARM returned it.
    pub(super) async fn raw_get(
        &self,
        path: &str,
        api_version: &str,
    ) -> Result<Value, azure_core::Error> {
        let mut url = self.options.arm.join(path).map_err(conversion)?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        self.get_json(&self.pipeline(), url).await
    }

    /// The azure_core pipeline of the SDK clients: the same policies, in the same order.
    pub(super) fn pipeline(&self) -> azure_core::Pipeline {
        azure_core::Pipeline::new(
            Some("backup-doctor"),
            Some(env!("CARGO_PKG_VERSION")),
            self.options.client_options(),
            Vec::new(),
            Vec::new(),
        )
    }

    /// A GET of `url` with the run's token, its body as JSON.
    async fn get_json(
        &self,
        pipeline: &azure_core::Pipeline,
        url: url::Url,
    ) -> Result<Value, azure_core::Error> {
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
    }

    /// Reads `url` and every `nextLink` after it. Fails when the first page does; a later page
    /// that cannot be read ends the list with the error beside the items read so far.
    async fn raw_pages(&self, url: url::Url) -> Result<Pages, azure_core::Error> {
        let pipeline = self.pipeline();
        let mut pages = Pages::default();
        let mut next = Some(Ok(url));
        while let Some(url) = next.take() {
            let page = async { self.get_json(&pipeline, url?).await };
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
