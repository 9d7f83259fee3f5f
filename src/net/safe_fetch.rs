//! `SafeFetch`: the one way the app fetches a URL someone else chose (a product photo from a shop,
//! a webhook target, a media link in an import), without letting that URL reach inside our
//! network.
//!
//! For every hop (the first request and each redirect, at most [`MAX_REDIRECTS`]):
//! - only `http`/`https` with a host;
//! - a literal IP host is checked as written (the `url` crate has already turned `2130706433`,
//!   `0177.0.0.1`, `0x7f.1` and `127.1` into `127.0.0.1`);
//! - a host name is looked up once, by the client's own resolver, and refused if *any* answer is
//!   inward ([`super::address::is_inward`]); the connection then goes to those very answers, so
//!   a DNS server that answers differently the second time (rebinding) gets no second question;
//! - no proxy from the environment (a proxy would do its own lookup).
//!
//! Origins listed in `OUTBOUND_ALLOW_ORIGINS`, and the sandbox at `SANDBOX_URL`, are exempt from
//! the address check (they run on 127.0.0.1 in development and tests); a redirect from one of
//! them to anywhere else is checked like any other hop.
//!
//! Time is capped for the whole exchange and for each connect; size is refused early from
//! `Content-Length` and cut off while reading. Errors are typed, and their `Display` is a short
//! clause for the person who supplied the URL.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use url::{Host, Origin, Url};

use super::address::is_inward;
use crate::config::Config;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// How long establishing one connection (lookup included) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much a fetch may take: bytes of body, and time from the first lookup to the last byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub timeout: Duration,
}

impl Limits {
    pub fn new(max_bytes: u64, timeout: Duration) -> Self {
        Self { max_bytes, timeout }
    }
}

/// A completed exchange: the last hop's answer, whatever its status.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    /// Where the answer came from, after redirects.
    pub final_url: Url,
}

/// Why a URL wasn't fetched. `Display` is for the person who supplied it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("the address isn't a web address we fetch (only http and https are)")]
    NotWeb,
    #[error("that address points inside our network")]
    Inward,
    #[error("its host name doesn't exist")]
    UnknownHost,
    #[error("it couldn't be reached")]
    Unreachable,
    #[error("it took too long")]
    TooSlow,
    #[error("it's larger than {}", crate::media::human_size(*.0))]
    TooLarge(u64),
    #[error("it redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
}

/// How host names become addresses. The system's resolver in production; tests answer from a
/// table ([`FixedAnswers`]).
pub trait Resolver: Send + Sync + 'static {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Answers from a fixed table; any other name doesn't exist. For tests.
#[derive(Clone, Debug, Default)]
pub struct FixedAnswers(std::collections::HashMap<String, Vec<IpAddr>>);

impl FixedAnswers {
    pub fn new() -> Self {
        Self::default()
    }

    /// `host` resolves to `ips`.
    pub fn answer(mut self, host: &str, ips: &[IpAddr]) -> Self {
        self.0.insert(host.to_ascii_lowercase(), ips.to_vec());
        self
    }
}

impl Resolver for FixedAnswers {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        let found = self.0.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
        })
    }
}

/// Fetches user-supplied URLs safely. Cheap to clone.
#[derive(Clone)]
pub struct SafeFetch {
    resolver: Arc<dyn Resolver>,
    /// For every origin not on the allow-list: its resolver refuses inward answers.
    guarded: reqwest::Client,
    /// For allow-listed origins only.
    trusted: reqwest::Client,
    allowed: Arc<[Origin]>,
}

impl std::fmt::Debug for SafeFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeFetch")
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

impl SafeFetch {
    /// Looks names up with the system's resolver; the allow-list from `config`.
    pub fn new(config: &Config) -> Self {
        Self::with_resolver(config, Arc::new(SystemResolver))
    }

    /// Looks names up with `resolver` (tests inject answers here).
    pub fn with_resolver(config: &Config, resolver: Arc<dyn Resolver>) -> Self {
        let allowed: Vec<Origin> = config
            .outbound_allow_origins
            .iter()
            .chain(config.sandbox_url.iter())
            .map(Url::origin)
            .collect();
        Self {
            guarded: client(Guard {
                resolver: resolver.clone(),
                refuse_inward: true,
            }),
            trusted: client(Guard {
                resolver: resolver.clone(),
                refuse_inward: false,
            }),
            resolver,
            allowed: allowed.into(),
        }
    }

    /// Whether `url` could be fetched right now: its form, and where its host points. For
    /// checking an address when it is saved (a webhook target); fetching checks again.
    pub async fn check_url(&self, url: &str) -> Result<(), FetchError> {
        let url = parse(url)?;
        if self.is_allowed(&url) {
            return Ok(());
        }
        match url.host() {
            Some(Host::Domain(name)) => {
                let ips = self
                    .resolver
                    .lookup(name)
                    .await
                    .map_err(|_| FetchError::UnknownHost)?;
                check_answers(&ips).map_err(|refusal| match refusal {
                    Refusal::Inward => FetchError::Inward,
                    Refusal::NoAnswer => FetchError::UnknownHost,
                })
            }
            Some(Host::Ipv4(ip)) => check_literal(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => check_literal(IpAddr::V6(ip)),
            None => Err(FetchError::NotWeb),
        }
    }

    /// `GET url`.
    pub async fn get(&self, url: &str, limits: Limits) -> Result<Fetched, FetchError> {
        self.request(Method::GET, url, HeaderMap::new(), None, limits)
            .await
    }

    /// `POST url` with `body` (webhooks).
    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
        limits: Limits,
    ) -> Result<Fetched, FetchError> {
        self.request(Method::POST, url, headers, Some(body), limits)
            .await
    }

    /// Any request; redirects are followed here, each hop checked afresh.
    #[tracing::instrument(skip(self, headers, body), fields(host))]
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Bytes>,
        limits: Limits,
    ) -> Result<Fetched, FetchError> {
        let url = parse(url)?;
        tracing::Span::current().record("host", url.host_str().unwrap_or(""));
        match tokio::time::timeout(
            limits.timeout,
            self.follow(method, url, headers, body, limits.max_bytes),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(FetchError::TooSlow),
        }
    }

    async fn follow(
        &self,
        mut method: Method,
        mut url: Url,
        mut headers: HeaderMap,
        mut body: Option<Bytes>,
        max_bytes: u64,
    ) -> Result<Fetched, FetchError> {
        let mut redirects = 0;
        loop {
            let client = self.client_for(&url)?;
            let mut req = client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let res = req.send().await.map_err(|e| from_reqwest(&e))?;
            let status = res.status();
            let location = res
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let (true, Some(location)) = (status.is_redirection(), location) {
                if redirects == MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                redirects += 1;
                let next = url.join(&location).map_err(|_| FetchError::NotWeb)?;
                // What browsers do: 303 always, and 301/302 after a POST, continue with a GET.
                if status == StatusCode::SEE_OTHER
                    || (method == Method::POST
                        && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND))
                {
                    method = Method::GET;
                    body = None;
                    headers.remove(header::CONTENT_TYPE);
                    headers.remove(header::CONTENT_LENGTH);
                }
                // Credentials meant for one site don't follow a redirect to another.
                if next.origin() != url.origin() {
                    headers.remove(header::AUTHORIZATION);
                    headers.remove(header::COOKIE);
                    headers.remove(header::PROXY_AUTHORIZATION);
                }
                url = next;
                continue;
            }
            if res.content_length().is_some_and(|n| n > max_bytes) {
                return Err(FetchError::TooLarge(max_bytes));
            }
            let headers = res.headers().clone();
            let mut bytes = BytesMut::new();
            let mut stream = res.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| from_reqwest(&e))?;
                // A server that lies about (or omits) its length is cut off all the same.
                if (bytes.len() + chunk.len()) as u64 > max_bytes {
                    return Err(FetchError::TooLarge(max_bytes));
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Fetched {
                status,
                headers,
                bytes: bytes.freeze(),
                final_url: url,
            });
        }
    }

    fn is_allowed(&self, url: &Url) -> bool {
        let origin = url.origin();
        self.allowed.contains(&origin)
    }

    /// The client one hop may use, after the checks that need no lookup.
    fn client_for(&self, url: &Url) -> Result<&reqwest::Client, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::NotWeb);
        }
        if self.is_allowed(url) {
            return Ok(&self.trusted);
        }
        match url.host() {
            // Literal addresses never reach a resolver, so they are checked here.
            Some(Host::Ipv4(ip)) => check_literal(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => check_literal(IpAddr::V6(ip))?,
            Some(Host::Domain(_)) => {}
            None => return Err(FetchError::NotWeb),
        }
        Ok(&self.guarded)
    }
}

fn parse(url: &str) -> Result<Url, FetchError> {
    let url = Url::parse(url.trim()).map_err(|_| FetchError::NotWeb)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(FetchError::NotWeb);
    }
    Ok(url)
}

fn check_literal(ip: IpAddr) -> Result<(), FetchError> {
    if is_inward(ip) {
        Err(FetchError::Inward)
    } else {
        Ok(())
    }
}

/// Why the resolver refused a name; found again in the error reqwest returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    #[error("the name resolves to an address inside our network")]
    Inward,
    #[error("the name has no addresses")]
    NoAnswer,
}

fn check_answers(ips: &[IpAddr]) -> Result<(), Refusal> {
    if ips.is_empty() {
        Err(Refusal::NoAnswer)
    } else if ips.iter().copied().any(is_inward) {
        Err(Refusal::Inward)
    } else {
        Ok(())
    }
}

/// The lookup the HTTP client itself makes: checked answers are the ones it connects to.
struct Guard {
    resolver: Arc<dyn Resolver>,
    refuse_inward: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let refuse_inward = self.refuse_inward;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = match resolver.lookup(&host).await {
                Ok(ips) => ips,
                Err(_) => return Err(Box::new(Refusal::NoAnswer) as _),
            };
            match check_answers(&ips) {
                Err(Refusal::Inward) if !refuse_inward => {}
                Err(refusal) => return Err(Box::new(refusal) as _),
                Ok(()) => {}
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

fn client(guard: Guard) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(guard))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("Picscripter/", env!("CARGO_PKG_VERSION")))
        .build()
        // Only fails when the TLS backend can't initialise, which is a broken build.
        .expect("the HTTP client builds")
}

fn from_reqwest(e: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return match refusal {
                Refusal::Inward => FetchError::Inward,
                Refusal::NoAnswer => FetchError::UnknownHost,
            };
        }
        source = err.source();
    }
    if e.is_timeout() {
        FetchError::TooSlow
    } else {
        FetchError::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn config(allow: &[&str]) -> Config {
        let env: std::collections::BTreeMap<String, String> = [
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/picscripter"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-and-more"),
            (
                "ENCRYPTION_KEYS_JSON",
                r#"{"1":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
            ),
            ("ENCRYPTION_KEY_CURRENT", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain([("OUTBOUND_ALLOW_ORIGINS".to_owned(), allow.join(","))])
        .collect();
        Config::from_env(&env).unwrap()
    }

    fn localhost() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }

    /// Counts the lookups it answers, from a fixed table.
    struct Counting(FixedAnswers, AtomicUsize);

    impl Resolver for Counting {
        fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.lookup(host)
        }
    }

    fn fetcher(allow: &[&str], dns: FixedAnswers) -> SafeFetch {
        SafeFetch::with_resolver(&config(allow), Arc::new(dns))
    }

    fn limits() -> Limits {
        Limits::new(1_000_000, Duration::from_secs(10))
    }

    #[test]
    fn the_url_crate_reads_every_spelling_of_loopback_as_127_0_0_1() {
        for url in [
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://127.0.1/",
            "http://0x7F.0.0.1/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(
                parsed.host(),
                Some(Host::Ipv4([127, 0, 0, 1].into())),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn inward_literal_addresses_are_refused_in_every_spelling() {
        let safe = fetcher(&[], FixedAnswers::new());
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://10.0.0.5/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://0/",
            "https://[::]/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://198.18.0.1/",
            "http://192.0.2.1/",
        ] {
            assert_eq!(safe.check_url(url).await, Err(FetchError::Inward), "{url}");
            assert_eq!(
                safe.get(url, limits()).await.unwrap_err(),
                FetchError::Inward,
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn only_http_and_https_with_a_host_are_fetched() {
        let safe = fetcher(&[], FixedAnswers::new());
        for url in [
            "ftp://example.com/a.jpg",
            "file:///etc/passwd",
            "gopher://example.com/",
            "data:image/png;base64,AAAA",
            "http://",
            "mailto:someone@example.com",
            "not a url",
            "",
        ] {
            assert_eq!(safe.check_url(url).await, Err(FetchError::NotWeb), "{url}");
            assert_eq!(
                safe.get(url, limits()).await.unwrap_err(),
                FetchError::NotWeb,
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_is_refused_when_any_of_its_addresses_is_inward() {
        let dns = FixedAnswers::new()
            .answer("inward.test", &[localhost()])
            .answer(
                "mixed.test",
                &[IpAddr::from([8, 8, 8, 8]), IpAddr::from([10, 0, 0, 1])],
            )
            .answer(
                "metadata.test",
                &["::ffff:169.254.169.254".parse().unwrap()],
            )
            .answer("public.test", &[IpAddr::from([8, 8, 8, 8])]);
        let safe = fetcher(&[], dns);
        for url in [
            "http://inward.test/photo.jpg",
            "https://MIXED.test/",
            "http://metadata.test/latest/",
        ] {
            assert_eq!(safe.check_url(url).await, Err(FetchError::Inward), "{url}");
            assert_eq!(
                safe.get(url, limits()).await.unwrap_err(),
                FetchError::Inward,
                "{url}"
            );
        }
        assert_eq!(safe.check_url("https://public.test/hook").await, Ok(()));
        assert_eq!(
            safe.check_url("https://nowhere.test/").await,
            Err(FetchError::UnknownHost)
        );
        assert_eq!(
            safe.get("https://nowhere.test/", limits())
                .await
                .unwrap_err(),
            FetchError::UnknownHost
        );
    }

    #[tokio::test]
    async fn the_checked_lookup_is_the_only_one_and_the_connection_uses_its_answer() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/a.jpg"))
            .respond_with(ResponseTemplate::new(200).set_body_string("photo"))
            .mount(&server)
            .await;
        let port = server.address().port();
        let allowed = format!("http://shop.test:{port}");
        let counting = Arc::new(Counting(
            FixedAnswers::new()
                .answer("shop.test", &[localhost()])
                .answer("inward.test", &[localhost()]),
            AtomicUsize::new(0),
        ));
        let safe = SafeFetch::with_resolver(&config(&[&allowed]), counting.clone());
        // `shop.test` exists only in the injected answers, so reaching the server proves the
        // connection went to the address that lookup gave.
        let got = safe
            .get(&format!("{allowed}/a.jpg"), limits())
            .await
            .unwrap();
        assert_eq!(got.bytes, "photo");
        assert_eq!(counting.1.load(Ordering::SeqCst), 1);
        let refused = safe
            .get(&format!("http://inward.test:{port}/a.jpg"), limits())
            .await;
        assert_eq!(refused.unwrap_err(), FetchError::Inward);
        assert_eq!(counting.1.load(Ordering::SeqCst), 2, "one lookup per hop");
    }

    #[tokio::test]
    async fn only_the_exact_allowed_origin_is_exempt() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        let safe = fetcher(&[&server.uri()], FixedAnswers::new());
        let got = safe
            .get(&format!("{}/x", server.uri()), limits())
            .await
            .unwrap();
        assert_eq!(
            (got.status, got.bytes.as_ref()),
            (StatusCode::OK, &b"ok"[..])
        );
        assert_eq!(safe.check_url(&server.uri()).await, Ok(()));
        let other_port = format!("http://127.0.0.1:{}/x", server.address().port() + 1);
        assert_eq!(
            safe.get(&other_port, limits()).await.unwrap_err(),
            FetchError::Inward
        );
        let other_scheme = format!("https://127.0.0.1:{}/x", server.address().port());
        assert_eq!(safe.check_url(&other_scheme).await, Err(FetchError::Inward));
    }

    #[tokio::test]
    async fn every_redirect_hop_is_checked_and_at_most_three_are_followed() {
        let server = MockServer::start().await;
        let to = |location: &str| ResponseTemplate::new(302).insert_header("location", location);
        for (from, location) in [
            ("/metadata", "http://169.254.169.254/latest/meta-data/"),
            ("/inward", "http://inward.test/"),
            ("/decimal", "http://2130706433/"),
            ("/ftp", "ftp://files.example.com/a.jpg"),
            ("/1", "/2"),
            ("/2", "/3"),
            ("/3", "/4"),
            ("/4", "/5"),
        ] {
            Mock::given(path(from))
                .respond_with(to(location))
                .mount(&server)
                .await;
        }
        for at in ["/4", "/5"] {
            Mock::given(path(at))
                .respond_with(ResponseTemplate::new(200).set_body_string(at))
                .mount(&server)
                .await;
        }
        let safe = fetcher(
            &[&server.uri()],
            FixedAnswers::new().answer("inward.test", &[localhost()]),
        );
        let uri = server.uri();
        for (from, refusal) in [
            ("/metadata", FetchError::Inward),
            ("/inward", FetchError::Inward),
            ("/decimal", FetchError::Inward),
            ("/ftp", FetchError::NotWeb),
            ("/1", FetchError::TooManyRedirects),
        ] {
            assert_eq!(
                safe.get(&format!("{uri}{from}"), limits())
                    .await
                    .unwrap_err(),
                refusal,
                "{from}"
            );
        }
        let got = safe.get(&format!("{uri}/2"), limits()).await.unwrap();
        assert_eq!(got.bytes, "/5", "three hops are followed");
        assert_eq!(got.final_url.path(), "/5");
    }

    #[tokio::test]
    async fn a_post_redirected_with_303_continues_as_a_get_without_its_body_or_credentials() {
        let first = MockServer::start().await;
        let second = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hook"))
            .respond_with(
                ResponseTemplate::new(303)
                    .insert_header("location", format!("{}/done", second.uri())),
            )
            .mount(&first)
            .await;
        Mock::given(method("GET"))
            .and(path("/done"))
            .respond_with(ResponseTemplate::new(200).set_body_string("thanks"))
            .mount(&second)
            .await;
        let safe = fetcher(&[&first.uri(), &second.uri()], FixedAnswers::new());
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        let got = safe
            .post(
                &format!("{}/hook", first.uri()),
                headers,
                Bytes::from_static(b"{}"),
                limits(),
            )
            .await
            .unwrap();
        assert_eq!(got.bytes, "thanks");
        let seen = &second.received_requests().await.unwrap()[0];
        assert!(seen.body.is_empty());
        assert!(!seen.headers.contains_key("authorization"));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_whether_announced_or_not() {
        let server = MockServer::start().await;
        Mock::given(path("/big"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2_000]))
            .mount(&server)
            .await;
        let safe = fetcher(&[&server.uri()], FixedAnswers::new());
        let small = Limits::new(1_000, Duration::from_secs(10));
        let err = safe
            .get(&format!("{}/big", server.uri()), small)
            .await
            .unwrap_err();
        assert_eq!(err, FetchError::TooLarge(1_000));
        assert_eq!(err.to_string(), "it's larger than 1 KB");

        // No Content-Length: a chunked body that keeps coming is cut off at the limit.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            for _ in 0..100 {
                if sock.write_all(b"100\r\n").await.is_err()
                    || sock.write_all(&[1u8; 256]).await.is_err()
                    || sock.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
            }
            let _ = sock.write_all(b"0\r\n\r\n").await;
        });
        let origin = format!("http://{addr}");
        let safe = fetcher(&[&origin], FixedAnswers::new());
        assert_eq!(
            safe.get(&format!("{origin}/stream"), small)
                .await
                .unwrap_err(),
            FetchError::TooLarge(1_000)
        );
    }

    #[tokio::test]
    async fn a_server_slower_than_the_time_limit_is_given_up_on() {
        let server = MockServer::start().await;
        Mock::given(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let safe = fetcher(&[&server.uri()], FixedAnswers::new());
        let err = safe
            .get(
                &format!("{}/slow", server.uri()),
                Limits::new(1_000, Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(err, FetchError::TooSlow);
        assert_eq!(err.to_string(), "it took too long");
    }

    #[test]
    fn refusals_read_plainly() {
        assert_eq!(
            FetchError::Inward.to_string(),
            "that address points inside our network"
        );
        assert_eq!(
            FetchError::TooLarge(20_000_000).to_string(),
            "it's larger than 20 MB"
        );
    }
}
