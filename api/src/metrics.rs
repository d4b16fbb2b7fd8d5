//! `/metrics`: what an operator graphs and alerts on, in Prometheus' text format. Counters
//! and histograms are recorded as requests pass (HTTP by route and status, GraphQL by
//! root field and outcome, rate-limit refusals, escalations); gauges are read when
//! scraped (the backlog from the database, pools, Redis, the read replica, draining). Labels take values
//! from fixed sets only (route templates, schema field names, error codes), so a client
//! cannot grow the series. `deploy/monitoring/` holds the alert rules and the dashboard
//! built on these names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use mati_domain::ports::ReplicaState;
use mati_domain::service::Mati;

use crate::graphql::error::code_of;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Latency buckets, in seconds: from a cached read to the statement timeout.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The operation label of errors that belong to no root field (a document refused
/// before it ran).
const WHOLE_REQUEST: &str = "(request)";

/// Every series this process exports.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    operations: IntCounterVec,
    operation_duration: HistogramVec,
    refusals: IntCounterVec,
    escalations: IntCounter,
    statements: IntCounter,
    awaiting_moderation: IntGauge,
    oldest_awaiting: Gauge,
    overdue: IntGauge,
    outbox: IntGauge,
    outbox_lag: Gauge,
    pool_connections: GaugeVec,
    pool_max: GaugeVec,
    redis_up: IntGauge,
    replica_state: GaugeVec,
    replica_lag: Gauge,
    shutting_down: IntGauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<T>,
) -> prometheus::Result<T> {
    let metric = metric?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// Every series, registered and at zero.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let r = &registry;
        let histogram = |name: &str, help: &str, label: &str| {
            register(
                r,
                HistogramVec::new(HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()), &[label]),
            )
        };
        let build_info = register(
            r,
            GaugeVec::new(
                Opts::new("mati_build_info", "The running version (always 1)."),
                &["version"],
            ),
        )?;
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1.0);
        Ok(Self {
            http_requests: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "mati_http_requests_total",
                        "HTTP requests answered, by route and status.",
                    ),
                    &["route", "status"],
                ),
            )?,
            http_duration: histogram(
                "mati_http_request_duration_seconds",
                "Time to answer an HTTP request, by route.",
                "route",
            )?,
            operations: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "mati_graphql_operations_total",
                        "GraphQL root fields run, by field and outcome (ok or the error code).",
                    ),
                    &["operation", "outcome"],
                ),
            )?,
            operation_duration: histogram(
                "mati_graphql_operation_duration_seconds",
                "Time to resolve a GraphQL root field, by field.",
                "operation",
            )?,
            refusals: register(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "mati_rate_limit_refusals_total",
                        "Requests refused with RATE_LIMITED, by the operation limited.",
                    ),
                    &["action"],
                ),
            )?,
            escalations: register(
                r,
                IntCounter::new("mati_escalations_total", "Overdue comments escalated by this process."),
            )?,
            statements: register(
                r,
                IntCounter::new("mati_db_statements_total", "SQL statements run by this process."),
            )?,
            awaiting_moderation: register(
                r,
                IntGauge::new(
                    "mati_moderation_queue_depth",
                    "Comments the moderation queue holds (awaiting a decision, or hidden by flags).",
                ),
            )?,
            oldest_awaiting: register(
                r,
                Gauge::new(
                    "mati_moderation_queue_oldest_seconds",
                    "Age of the earliest-submitted comment the moderation queue holds (0 when none).",
                ),
            )?,
            overdue: register(
                r,
                IntGauge::new(
                    "mati_overdue_comments",
                    "Published comments past their response deadline without a first response.",
                ),
            )?,
            outbox: register(
                r,
                IntGauge::new(
                    "mati_outbox_pending",
                    "Outbox rows not yet relayed to the moderation queue.",
                ),
            )?,
            outbox_lag: register(
                r,
                Gauge::new(
                    "mati_outbox_lag_seconds",
                    "Age of the oldest outbox row not yet relayed (0 when none).",
                ),
            )?,
            pool_connections: register(
                r,
                GaugeVec::new(
                    Opts::new("mati_db_pool_connections", "Database connections, by pool and state."),
                    &["pool", "state"],
                ),
            )?,
            pool_max: register(
                r,
                GaugeVec::new(
                    Opts::new("mati_db_pool_max_connections", "The most connections a pool opens."),
                    &["pool"],
                ),
            )?,
            redis_up: IntGauge::new("mati_redis_up", "1 when Redis answered its last contact, 0 when not.")?,
            replica_state: GaugeVec::new(
                Opts::new(
                    "mati_read_replica_state",
                    "The read replica's state as last checked: 1 for the current one of ok, lagging, unreachable.",
                ),
                &["state"],
            )?,
            replica_lag: Gauge::new(
                "mati_read_replica_lag_seconds",
                "How far the read replica was behind the primary at its last check.",
            )?,
            shutting_down: register(
                r,
                IntGauge::new("mati_shutting_down", "1 while this process drains or stops."),
            )?,
            registry,
        })
    }

    /// Counts `count` escalations.
    pub fn escalated(&self, count: usize) {
        self.escalations.inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    fn answered(&self, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    fn resolved(&self, operation: &str, outcome: &str) {
        self.operations.with_label_values(&[operation, outcome]).inc();
        if outcome == "RATE_LIMITED" {
            self.refusals.with_label_values(&[operation]).inc();
        }
    }

    /// The text of a scrape: gauges read from `mati` now, then every series.
    pub async fn scrape(&self, mati: &Mati, draining: bool) -> String {
        let run = mati.statements_run();
        self.statements.inc_by(run.saturating_sub(self.statements.get()));
        self.shutting_down.set(i64::from(draining));
        // Ages by the services' clock, the one the timestamps were written by.
        let now = mati.now();
        let age = |at: Option<chrono::DateTime<chrono::Utc>>| {
            at.map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0)
        };
        match mati.backlog().await {
            Ok(backlog) => {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                self.awaiting_moderation.set(count(backlog.awaiting_moderation));
                self.oldest_awaiting.set(age(backlog.oldest_awaiting));
                self.overdue.set(count(backlog.overdue));
                self.outbox.set(count(backlog.outbox));
                self.outbox_lag.set(age(backlog.oldest_outbox));
            }
            // The last values stay; the database's state shows in /readyz and the pools.
            Err(err) => tracing::warn!(error = %err, "metrics: backlog unavailable"),
        }
        for pool in mati.pools() {
            for (state, n) in [("idle", pool.idle), ("in_use", pool.in_use)] {
                self.pool_connections
                    .with_label_values(&[pool.pool, state])
                    .set(f64::from(n));
            }
            self.pool_max.with_label_values(&[pool.pool]).set(f64::from(pool.max));
        }
        let mut families = self.registry.gather();
        if let Some(up) = mati.redis_reachable() {
            self.redis_up.set(i64::from(up));
            families.extend(prometheus::core::Collector::collect(&self.redis_up));
        }
        if let Some(replica) = mati.read_replica() {
            for state in [ReplicaState::Ok, ReplicaState::Lagging, ReplicaState::Unreachable] {
                self.replica_state
                    .with_label_values(&[state.as_str()])
                    .set(f64::from(u8::from(state == replica.state)));
            }
            families.extend(prometheus::core::Collector::collect(&self.replica_state));
            if let Some(lag) = replica.lag {
                self.replica_lag.set(lag.as_secs_f64());
                families.extend(prometheus::core::Collector::collect(&self.replica_lag));
            }
        }
        let mut text = Vec::new();
        match TextEncoder::new().encode(&families, &mut text) {
            Ok(()) => String::from_utf8(text).unwrap_or_default(),
            Err(err) => {
                tracing::warn!(error = %err, "metrics: encoding failed");
                String::new()
            }
        }
    }
}

/// Middleware: counts and times every request by its route template (`/graphql`, never
/// the raw path, so no client can add series) and status.
pub async fn observe_http(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.answered(&route, response.status().as_u16(), started.elapsed());
    response
}

/// The GraphQL extension recording each root field's time and outcome.
pub struct Observed(pub Arc<Metrics>);

impl ExtensionFactory for Observed {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observation {
            metrics: Arc::clone(&self.0),
            roots: Mutex::new(HashMap::new()),
        })
    }
}

/// One request's observation: its root fields by response key (alias or name).
struct Observation {
    metrics: Arc<Metrics>,
    roots: Mutex<HashMap<String, String>>,
}

#[async_trait::async_trait]
impl Extension for Observation {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> async_graphql::Response {
        let response = next.run(ctx).await;
        let roots = std::mem::take(&mut *self.roots.lock().unwrap_or_else(PoisonError::into_inner));
        let mut outcomes: HashMap<&str, &str> = roots.keys().map(|key| (key.as_str(), "ok")).collect();
        let mut whole_request = Vec::new();
        for error in &response.errors {
            let code = code_of(error);
            match error.path.first() {
                Some(async_graphql::PathSegment::Field(key)) if outcomes.contains_key(key.as_str()) => {
                    outcomes.insert(key.as_str(), code);
                }
                _ => whole_request.push(code),
            }
        }
        for (key, outcome) in outcomes {
            if let Some(field) = roots.get(key) {
                self.metrics.resolved(field, outcome);
            }
        }
        for outcome in whole_request {
            self.metrics.resolved(WHOLE_REQUEST, outcome);
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let field = info.name.to_owned();
        let key = info.alias.unwrap_or(info.name).to_owned();
        let started = Instant::now();
        let resolved = next.run(ctx, info).await;
        self.metrics
            .operation_duration
            .with_label_values(&[field.as_str()])
            .observe(started.elapsed().as_secs_f64());
        self.roots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, field);
        resolved
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn every_series_is_registered_once_under_its_name() {
        let metrics = Metrics::new().unwrap();
        metrics.answered("/graphql", 200, Duration::from_millis(3));
        metrics.resolved("submitComment", "RATE_LIMITED");
        metrics.escalated(2);
        let names: Vec<String> = metrics
            .registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        for name in [
            "mati_http_requests_total",
            "mati_http_request_duration_seconds",
            "mati_graphql_operations_total",
            "mati_rate_limit_refusals_total",
            "mati_escalations_total",
            "mati_build_info",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
        }
        assert_eq!(metrics.refusals.with_label_values(&["submitComment"]).get(), 1);
    }
}
