//! Redis Sentinels of one test's own (`redis-server CONF --sentinel`) on free ports,
//! watching a [`PrivateRedis`] master, each with a configuration file it may rewrite.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::backend::backends_required;
use crate::redis::free_port;

/// A few sentinels watching one master under one name.
pub struct Sentinels {
    pub name: String,
    pub ports: Vec<u16>,
    children: Vec<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl Sentinels {
    /// Starts `count` sentinels watching the master on `master_port` as `name`, with a
    /// quorum of `quorum`, declaring it down after one second; `None` (skip) when
    /// `redis-server` cannot run them and is not required.
    pub async fn start(name: &str, master_port: u16, count: usize, quorum: usize) -> Option<Self> {
        let dir = tempfile::tempdir().expect("sentinel directory");
        let mut sentinels = Self {
            name: name.to_owned(),
            ports: Vec::new(),
            children: Vec::new(),
            _dir: dir,
        };
        for _ in 0..count {
            let port = free_port();
            let home = sentinels._dir.path().join(port.to_string());
            std::fs::create_dir(&home).expect("sentinel home");
            let conf = home.join("sentinel.conf");
            let text = format!(
                "port {port}\nbind 127.0.0.1\ndir {home}\nsentinel resolve-hostnames no\n\
                 sentinel monitor {name} 127.0.0.1 {master_port} {quorum}\n\
                 sentinel down-after-milliseconds {name} 1000\n\
                 sentinel failover-timeout {name} 5000\n",
                home = home.display(),
            );
            std::fs::write(&conf, text).expect("sentinel configuration");
            let child = std::process::Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(child) = child else {
                assert!(!backends_required(), "redis-server cannot run sentinels");
                eprintln!("skipped: redis-server cannot run sentinels");
                return None;
            };
            sentinels.ports.push(port);
            sentinels.children.push(child);
        }
        Some(sentinels)
    }

    /// `127.0.0.1:PORT,…`, as `MATI_REDIS_SENTINELS` reads it.
    pub fn addresses(&self) -> String {
        let addresses: Vec<String> = self.ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
        addresses.join(",")
    }

    /// `SENTINEL MASTER name` of the sentinel on `port`: its fields, or none when it
    /// does not answer.
    async fn master_info(&self, port: u16) -> Option<HashMap<String, String>> {
        let ask = async {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(&self.name)
                .query_async::<HashMap<String, String>>(&mut conn)
                .await
                .ok()
        };
        tokio::time::timeout(Duration::from_secs(1), ask).await.ok().flatten()
    }

    /// Waits until every sentinel knows the others and `replicas` replicas of a master
    /// it sees up, so that a failover can be agreed on.
    pub async fn wait_until_watching(&self, replicas: usize, within: Duration) {
        let started = Instant::now();
        loop {
            let mut ready = true;
            let mut seen = Vec::new();
            for port in &self.ports {
                let info = self.master_info(*port).await.unwrap_or_default();
                let field = |name: &str| info.get(name).and_then(|v| v.parse::<usize>().ok());
                ready &= info.get("flags").is_some_and(|flags| flags == "master")
                    && field("num-other-sentinels") == Some(self.ports.len() - 1)
                    && field("num-slaves") == Some(replicas);
                seen.push(info);
            }
            if ready {
                return;
            }
            assert!(
                started.elapsed() < within,
                "the sentinels never agreed on the topology: {seen:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The port of the master the first answering sentinel names.
    pub async fn master_port(&self) -> Option<u16> {
        for port in &self.ports {
            if let Some(info) = self.master_info(*port).await {
                return info.get("port").and_then(|p| p.parse().ok());
            }
        }
        None
    }
}

impl Drop for Sentinels {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
