//! Speaking to the server: GraphQL calls (the whole response, its data or its error
//! code) and plain `GET`s.

use serde_json::{Value, json};

use crate::app::TestApp;

/// The first error of a GraphQL response.
pub fn first_error(response: &Value) -> &Value {
    &response["errors"][0]
}

impl TestApp {
    /// Posts a GraphQL operation; the full JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        response.json().await.expect("JSON response")
    }

    /// Posts and returns `data`, failing the test on any error.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self.graphql(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}\nserver log:\n{}",
            self.log()
        );
        response["data"].clone()
    }

    /// Posts and returns the first error's `extensions.code`.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let response = self.graphql(token, query, variables).await;
        first_error(&response)["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {response:#}"))
            .to_owned()
    }

    /// `GET` of a path of the server (e.g. `/exports/stats.csv?unitCode=12`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
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
