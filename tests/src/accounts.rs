//! Who speaks: staff accounts made through `mati staff add` and logged in, and
//! anonymous citizen sessions.

use serde_json::json;

use crate::app::TestApp;
use crate::process::run_with_stdin;

impl TestApp {
    /// Creates a staff account through `mati staff add`; its password.
    pub async fn add_staff(&self, role: &str, username: &str, unit: Option<&str>) -> String {
        let password = format!("pw-{username}-{}", uuid::Uuid::new_v4().simple());
        let mut command = self.command();
        command.args(["staff", "add", "--role", role, "--username", username]);
        if let Some(unit) = unit {
            command.args(["--unit", unit]);
        }
        let output = run_with_stdin(command, &format!("{password}\n")).await;
        assert!(
            output.status.success(),
            "staff add failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        password
    }

    /// Logs in; the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        data["login"]["token"].as_str().expect("token").to_owned()
    }

    /// A staff member with a role (and unit), logged in; the token.
    pub async fn staff(&self, role: &str, username: &str, unit: Option<&str>) -> String {
        let password = self.add_staff(role, username, unit).await;
        self.login(username, &password).await
    }

    /// A fresh citizen session; the token.
    pub async fn citizen(&self) -> String {
        let data = self
            .ok(None, "mutation { startCitizenSession { token } }", json!({}))
            .await;
        data["startCitizenSession"]["token"].as_str().expect("token").to_owned()
    }
}
