//! Faults of the network and of the answers, injected on chosen requests: connections reset
//! before or in the middle of an answer, answers that stall, bodies that are not JSON, a
//! `Retry-After` longer than any scan, and answers that point the client at another host
//! (a redirect, a long-running operation's `Location` and `Azure-AsyncOperation`, an error body
//! naming URLs). Each fault names the requests it hits by a substring of their path, and how
//! many of them (the first n, or all), so a test or a soak run can choose between a fault the
//! client must retry through and one that must end as a gap.
//!
//! A reset needs the connection itself: the emulator serves through [`FaultyListener`], whose
//! streams carry a [`Switch`] the handler can throw; once thrown, the stream fails every read and
//! write and is closed with `SO_LINGER` 0, so the client sees a TCP reset.

use super::Outcome;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use serde_json::json;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// One fault: what happens to the requests whose path contains `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// A case-insensitive substring of the request's percent-decoded path (the token endpoint's
    /// `/oauth2/` paths included). Empty matches nothing.
    pub path: String,
    pub kind: FaultKind,
    /// Only the first `n` matching requests get the fault; `None`: every one.
    pub times: Option<u32>,
}

/// What a faulty request gets instead of its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The connection is reset before a byte of the answer is sent.
    Reset,
    /// The status, the headers with the whole body's `Content-Length`, half the body, then the
    /// connection is closed.
    CutBody,
    /// Nothing is sent for this long, then the answer.
    Stall(Duration),
    /// 200 with a body that is not JSON (cut and mangled, with its own correct length).
    BrokenJson,
    /// 429 `SubscriptionRequestsThrottled` asking to wait this many seconds.
    RetryAfter(u64),
    /// 307 to the same path and query on this base URL.
    Redirect(String),
    /// 202 with `Location` and `Azure-AsyncOperation` on this base URL, as a long-running
    /// operation answers.
    Accepted(String),
    /// 409 whose error body names URLs on this base (`target`, the message, a detail), with a
    /// `Location` header there too.
    ErrorNaming(String),
}

impl FromStr for Fault {
    type Err = String;

    /// `KIND[=ARG]@PATH[#N]`: `reset@/disks`, `cut-body@/locks#2`, `stall=30@/vaults`,
    /// `broken-json@/routeTables`, `retry-after=3600@/disks`, `redirect=http://127.0.0.1:9@/disks`,
    /// `accepted=URL@PATH`, `error-naming=URL@PATH`.
    fn from_str(text: &str) -> Result<Fault, String> {
        let (kind, rest) = text
            .split_once('@')
            .ok_or_else(|| format!("expected KIND[=ARG]@PATH[#N], got '{text}'"))?;
        let (path, times) = match rest.rsplit_once('#') {
            Some((path, n)) => {
                let n: u32 = n
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("#N must be a positive integer, got '#{n}'"))?;
                (path, Some(n))
            }
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(format!("the PATH after '@' is empty in '{text}'"));
        }
        let (name, argument) = match kind.split_once('=') {
            Some((name, argument)) => (name, Some(argument)),
            None => (kind, None),
        };
        let needs = |what: &str| {
            argument
                .filter(|a| !a.is_empty())
                .ok_or_else(|| format!("fault '{name}' needs ={what}"))
        };
        let seconds = |what: &str| -> Result<u64, String> {
            needs(what)?
                .parse()
                .map_err(|_| format!("fault '{name}': {what} must be whole seconds"))
        };
        let url = |what: &str| -> Result<String, String> {
            let base = needs(what)?;
            url::Url::parse(base)
                .map_err(|e| format!("fault '{name}': '{base}' is not a URL: {e}"))?;
            Ok(base.trim_end_matches('/').to_owned())
        };
        let kind = match name {
            "reset" => FaultKind::Reset,
            "cut-body" => FaultKind::CutBody,
            "stall" => FaultKind::Stall(Duration::from_secs(seconds("SECONDS")?)),
            "broken-json" => FaultKind::BrokenJson,
            "retry-after" => FaultKind::RetryAfter(seconds("SECONDS")?),
            "redirect" => FaultKind::Redirect(url("URL")?),
            "accepted" => FaultKind::Accepted(url("URL")?),
            "error-naming" => FaultKind::ErrorNaming(url("URL")?),
            other => {
                return Err(format!(
                    "unknown fault '{other}': one of reset, cut-body, stall, broken-json, retry-after, redirect, accepted, error-naming"
                ))
            }
        };
        if argument.is_some()
            && matches!(
                kind,
                FaultKind::Reset | FaultKind::CutBody | FaultKind::BrokenJson
            )
        {
            return Err(format!("fault '{name}' takes no argument"));
        }
        Ok(Fault {
            path: path.to_owned(),
            kind,
            times,
        })
    }
}

/// The configured faults with the count of requests each has hit.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    faults: Vec<(Fault, AtomicU64)>,
}

impl Faults {
    pub(crate) fn new(faults: &[Fault]) -> Faults {
        Faults {
            faults: faults
                .iter()
                .map(|f| (f.clone(), AtomicU64::new(0)))
                .collect(),
        }
    }

    /// The fault for a request at `decoded_path`: the first configured one whose path matches
    /// and whose count is not used up.
    pub(crate) fn pick(&self, decoded_path: &str) -> Option<FaultKind> {
        let path = decoded_path.to_lowercase();
        self.faults.iter().find_map(|(fault, hits)| {
            if fault.path.is_empty() || !path.contains(&fault.path.to_lowercase()) {
                return None;
            }
            let n = hits.fetch_add(1, Ordering::Relaxed);
            match fault.times {
                Some(times) if n >= u64::from(times) => None,
                _ => Some(fault.kind.clone()),
            }
        })
    }
}

/// What the handler makes of the answer it computed, given the request's fault.
pub(crate) enum Faulted {
    /// An answer as any other.
    Outcome(Outcome),
    /// A response built here (the cut body), logged with `status`.
    Response(u16, Response),
    /// No answer: the connection is reset.
    Reset,
}

/// Applies `fault` (all but `Stall`, which the handler waits out first) to `outcome`, the answer
/// to `path_and_query`.
pub(crate) fn apply(fault: &FaultKind, outcome: Outcome, path_and_query: &str) -> Faulted {
    match fault {
        FaultKind::Stall(_) => Faulted::Outcome(outcome),
        FaultKind::Reset => Faulted::Reset,
        FaultKind::CutBody => {
            let status = outcome.status;
            let full = outcome.body.len();
            let half = Bytes::from(outcome.body[..full / 2].to_vec());
            // The half goes out, then (after hyper has had time to flush it) the body fails, and
            // hyper closes the connection short of the Content-Length.
            let chunks = futures::stream::unfold(Some(half), |left| async move {
                match left {
                    Some(half) => Some((Ok::<Bytes, io::Error>(half), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let cut = io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the emulator cuts this body short",
                        );
                        Some((Err(cut), None))
                    }
                }
            });
            let mut response = outcome.into_response();
            *response.body_mut() = Body::from_stream(chunks);
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(full));
            Faulted::Response(status, response)
        }
        FaultKind::BrokenJson => {
            let mut broken = outcome;
            if broken.status == 200 {
                let keep = broken.body.len() / 2;
                broken.body.truncate(keep);
                broken.body.extend_from_slice(b"\",]}{ not json");
            }
            Faulted::Outcome(broken)
        }
        FaultKind::RetryAfter(seconds) => Faulted::Outcome(with_headers(
            Outcome::json(
                429,
                &json!({"error": {
                    "code": "SubscriptionRequestsThrottled",
                    "message": format!("Number of 'read' requests exceeded the limit. Please try again after '{seconds}' seconds."),
                }}),
            ),
            [("retry-after", seconds.to_string())],
        )),
        FaultKind::Redirect(base) => Faulted::Outcome(with_headers(
            Outcome::json(307, &json!({})),
            [("location", format!("{base}{path_and_query}"))],
        )),
        FaultKind::Accepted(base) => Faulted::Outcome(with_headers(
            Outcome::json(202, &json!({"status": "Accepted"})),
            [
                (
                    "location",
                    format!("{base}/operationResults/1?api-version=2024-01-01"),
                ),
                (
                    "azure-asyncoperation",
                    format!("{base}/operations/1?api-version=2024-01-01"),
                ),
                ("retry-after", "0".to_owned()),
            ],
        )),
        FaultKind::ErrorNaming(base) => Faulted::Outcome(with_headers(
            Outcome::json(
                409,
                &json!({"error": {
                    "code": "ResourceMoved",
                    "message": format!("The list moved to {base}{path_and_query}; read it there."),
                    "target": format!("{base}{path_and_query}"),
                    "details": [{"code": "SeeOther", "message": format!("{base}/elsewhere")}],
                }}),
            ),
            [("location", format!("{base}{path_and_query}"))],
        )),
    }
}

fn with_headers<const N: usize>(
    mut outcome: Outcome,
    headers: [(&'static str, String); N],
) -> Outcome {
    outcome.headers.extend(headers);
    outcome
}

/// The handler's hold on its connection: thrown, the connection is reset.
#[derive(Debug, Clone, Default)]
pub(crate) struct Switch(Arc<AtomicBool>);

impl Switch {
    pub(crate) fn throw(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn thrown(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, FaultyListener>> for Switch {
    fn connect_info(stream: IncomingStream<'_, FaultyListener>) -> Switch {
        stream.io().switch.clone()
    }
}

/// The emulator's listener: TCP connections that can be reset from the handler.
pub(crate) struct FaultyListener(pub(crate) TcpListener);

impl Listener for FaultyListener {
    type Io = FaultyStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FaultyStream, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((inner, address)) => {
                    let stream = FaultyStream {
                        inner,
                        switch: Switch::default(),
                    };
                    return (stream, address);
                }
                // Out of file descriptors and the like: wait a little, as axum's own listener does.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A TCP stream that fails, and is reset, once its switch is thrown.
pub(crate) struct FaultyStream {
    inner: TcpStream,
    switch: Switch,
}

impl FaultyStream {
    fn reset(&self) -> io::Error {
        // Closed with SO_LINGER 0 when hyper drops it after this error: a TCP RST, not a FIN.
        let _ = self.inner.set_zero_linger();
        io::Error::new(io::ErrorKind::ConnectionReset, "reset by the emulator")
    }
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.switch.thrown() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.switch.thrown() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.switch.thrown() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.switch.thrown() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.switch.thrown() {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_their_flag_form() {
        let parsed = |text: &str| text.parse::<Fault>();
        assert_eq!(
            parsed("reset@/disks#2"),
            Ok(Fault {
                path: "/disks".into(),
                kind: FaultKind::Reset,
                times: Some(2)
            })
        );
        assert_eq!(
            parsed("stall=30@/providers/Microsoft.Authorization/locks").map(|f| f.kind),
            Ok(FaultKind::Stall(Duration::from_secs(30)))
        );
        assert_eq!(
            parsed("redirect=http://127.0.0.1:9/@/vaults").map(|f| (f.kind, f.times)),
            Ok((FaultKind::Redirect("http://127.0.0.1:9".into()), None))
        );
        for bad in [
            "reset",
            "reset@",
            "reset@/disks#0",
            "stall@/disks",
            "stall=soon@/disks",
            "redirect=not a url@/disks",
            "reset=1@/disks",
            "explode@/disks",
        ] {
            assert!(parsed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_counted_fault_hits_only_its_first_requests() {
        let faults = Faults::new(&[
            "reset@/Disks#2".parse().unwrap(),
            "broken-json@/disks".parse().unwrap(),
        ]);
        let kinds: Vec<Option<FaultKind>> = (0..4)
            .map(|_| faults.pick("/subscriptions/s/providers/microsoft.compute/disks"))
            .collect();
        assert_eq!(
            kinds,
            [
                Some(FaultKind::Reset),
                Some(FaultKind::Reset),
                Some(FaultKind::BrokenJson),
                Some(FaultKind::BrokenJson)
            ]
        );
        assert_eq!(faults.pick("/subscriptions"), None);
    }
}
