//! `GET /metrics`: Prometheus text format. Latency histograms by route,
//! requests in flight, WebSocket connections, events published, writes,
//! and the size of the graph and the search index.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    /// The route's pattern (`/api/v1/nodes/{id}`), never the raw path.
    pub route: String,
    pub status: u16,
}

type Histograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub latency: Histograms,
    pub in_flight: Gauge,
    pub ws_connections: Gauge,
    pub writes: Counter,
    events_published: Gauge,
    nodes: Gauge,
    index_documents: Gauge,
    index_bytes: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn buckets() -> Histogram {
    // 100 µs … ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("nonlinear");
        let latency: Histograms = Family::new_with_constructor(buckets);
        let in_flight = Gauge::default();
        let ws_connections = Gauge::default();
        let writes = Counter::default();
        let events_published = Gauge::default();
        let nodes = Gauge::default();
        let index_documents = Gauge::default();
        let index_bytes = Gauge::default();
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "Requests being handled",
            in_flight.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open WebSocket connections",
            ws_connections.clone(),
        );
        registry.register("writes", "API writes applied", writes.clone());
        registry.register(
            "events_published",
            "Live-update events published (one per channel)",
            events_published.clone(),
        );
        registry.register("graph_nodes", "Nodes in the graph", nodes.clone());
        registry.register(
            "search_index_documents",
            "Documents in the search index",
            index_documents.clone(),
        );
        registry.register(
            "search_index_bytes",
            "Size of the search index on disk",
            index_bytes.clone(),
        );
        Metrics {
            registry,
            latency,
            in_flight,
            ws_connections,
            writes,
            events_published,
            nodes,
            index_documents,
            index_bytes,
        }
    }

    /// The text exposition, with the gauges read now.
    pub fn render(&self, app: &crate::app::App) -> String {
        self.events_published
            .set(i64::try_from(app.hub.published()).unwrap_or(i64::MAX));
        self.nodes
            .set(i64::try_from(app.live.read().graph().node_count()).unwrap_or(i64::MAX));
        {
            let search = app.search.read();
            self.index_documents
                .set(i64::try_from(search.len()).unwrap_or(i64::MAX));
            self.index_bytes
                .set(i64::try_from(search.size_on_disk()).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
