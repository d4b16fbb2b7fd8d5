//! Speaking to the server: GraphQL calls (the whole response, its data, its error
//! code or the HTTP reply with status and headers) and plain `GET`s.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::app::TestApp;

/// Who sends a request: a token (`&str`, `&String`, `String`), or nobody
/// ([`NOBODY`], or any `Option<&str>`).
pub trait Caller {
    /// The bearer token, if any.
    fn token(&self) -> Option<String>;
}

impl Caller for str {
    fn token(&self) -> Option<String> {
        Some(self.to_owned())
    }
}

impl Caller for String {
    fn token(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl Caller for Option<&str> {
    fn token(&self) -> Option<String> {
        self.map(str::to_owned)
    }
}

impl<T: Caller + ?Sized> Caller for &T {
    fn token(&self) -> Option<String> {
        (**self).token()
    }
}

/// A request without a token.
pub const NOBODY: Option<&str> = None;

/// The first error of a GraphQL response.
pub fn first_error(response: &Value) -> &Value {
    &response["errors"][0]
}

/// One HTTP answer to a GraphQL request: its status, its headers and its JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Served: a 200 without errors.
    pub fn accepted(&self) -> bool {
        self.status == 200 && self.body.get("errors").is_none()
    }

    /// The `Retry-After` header, if any.
    pub fn retry_after(&self) -> Option<String> {
        let value = self.headers.get(reqwest::header::RETRY_AFTER)?;
        value.to_str().ok().map(str::to_owned)
    }
}

/// A GraphQL request, sent when awaited: `.await` gives the data it asks for and fails
/// the test on any error; `response()`, `error_code()` and `reply()` give what a test of
/// a refusal asserts on.
#[must_use = "a call is sent only when awaited"]
pub struct Call<'a> {
    app: &'a TestApp,
    token: Option<String>,
    forwarded_for: Option<String>,
    query: &'a str,
    variables: Value,
    /// Where the answer lies in `data`.
    path: &'static [&'static str],
}

impl<'a> Call<'a> {
    /// The answer at `path` within `data` (by default all of `data`).
    pub(crate) fn at(mut self, path: &'static [&'static str]) -> Self {
        self.path = path;
        self
    }

    /// Sent as if from `address`, in `X-Forwarded-For` (believed behind a trusted proxy).
    pub fn forwarded_for(mut self, address: &str) -> Self {
        self.forwarded_for = Some(address.to_owned());
        self
    }

    /// The HTTP reply: status, headers and the JSON body.
    pub async fn reply(self) -> Reply {
        let mut request = self
            .app
            .client
            .post(format!("{}/graphql", self.app.base))
            .json(&json!({ "query": self.query, "variables": self.variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(address) = &self.forwarded_for {
            request = request.header("X-Forwarded-For", address);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.expect("JSON response");
        Reply { status, headers, body }
    }

    /// The full JSON response, errors and all.
    pub async fn response(self) -> Value {
        self.reply().await.body
    }

    /// The first error's `extensions.code`; fails the test when there is none.
    pub async fn error_code(self) -> String {
        let response = self.response().await;
        first_error(&response)["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {response:#}"))
            .to_owned()
    }

    /// The answer; fails the test on any error.
    pub async fn data(self) -> Value {
        let (app, path) = (self.app, self.path);
        let response = self.response().await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}\nserver log:\n{}",
            app.log()
        );
        path.iter()
            .fold(response["data"].clone(), |value, key| value[key].clone())
    }
}

impl<'a> IntoFuture for Call<'a> {
    type Output = Value;
    type IntoFuture = Pin<Box<dyn Future<Output = Value> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.data())
    }
}

impl TestApp {
    /// A GraphQL operation to send: await it for `data`, or see [`Call`].
    pub fn call<'a>(&'a self, caller: impl Caller, query: &'a str, variables: Value) -> Call<'a> {
        Call {
            app: self,
            token: caller.token(),
            forwarded_for: None,
            query,
            variables,
            path: &[],
        }
    }

    /// Posts a GraphQL operation; the full JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.call(token, query, variables).response().await
    }

    /// Posts and returns `data`, failing the test on any error.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.call(token, query, variables).data().await
    }

    /// Posts and returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        self.call(token, query, variables).error_code().await
    }

    /// `GET` of a path of the server (e.g. `/exports/stats.csv?unitCode=12`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// `GET` of a path of the server with these request headers: the status, the
    /// answer's headers and its body as sent (never decompressed here, so what is
    /// measured is what crossed the wire).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.expect("a body").to_vec())
    }

    /// `GET` of a path of the server; the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    /// SQL statements the server has run so far (from `/metrics`).
    pub async fn statements(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix("mati_db_statements_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("mati_db_statements_total in /metrics")
    }
}
