//! HTTP routes and client calls, and gRPC servers and clients, read off
//! the call sites and decorators of [`crate::code`] (and of Rust sources):
//! the raw material of `CALLS_API`.
//!
//! **Routes**: axum `.route("/p", get(h))`, actix `#[get("/p")]`, express
//! `app.get('/p', h)`, fastapi `@router.get("/p")` (with the router's
//! `prefix`), flask `@app.route("/p", methods=[…])` (and a blueprint's
//! `url_prefix`), gin `r.GET("/p", h)`, net/http `HandleFunc("/p", h)`
//! (also `"POST /p"`), Spring `@GetMapping("/p")` under the class's
//! `@RequestMapping`. **Calls**: reqwest, fetch/axios, requests/httpx, Go
//! `http.Get`/`NewRequest`, RestTemplate/WebClient — whenever the URL is a
//! literal or a template (`f"{BASE}/users/{id}"`, `` `${API}/users/${id}` ``,
//! `base + "/users/" + id`, `format!("{base}/users/{}", id)`).
//!
//! Paths are compared **normalized**: scheme and host (or a leading
//! base-URL placeholder) dropped, query dropped, lower-cased, every
//! parameter segment (`{id}`, `:id`, `<int:id>`, `${id}`, `%d`) → `{}`.
//! Health checks and metrics (`/health`, `/healthz`, `/ready`, `/livez`,
//! `/ping`, `/metrics`, …) are never routes.

use serde::{Deserialize, Serialize};

use crate::code::{Arg, CodeFacts, Site};

/// An HTTP endpoint: a route or a call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// Upper case; `None` when any method (or unknown).
    pub method: Option<String>,
    /// Normalized (module docs).
    pub path: String,
    pub line: u32,
}

/// A gRPC service used or served.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grpc {
    pub service: String,
    pub server: bool,
    pub line: u32,
}

const VERBS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Receivers that are HTTP clients, not routers (last segment, lower case).
const CLIENTS: &[&str] = &[
    "axios",
    "requests",
    "httpx",
    "http",
    "client",
    "session",
    "httpclient",
    "resttemplate",
    "rest",
    "webclient",
    "reqwest",
    "got",
    "ky",
    "superagent",
    "request",
    "$http",
    "asyncclient",
];

const HEALTH: &[&str] = &[
    "health",
    "healthz",
    "healthcheck",
    "ready",
    "readyz",
    "readiness",
    "live",
    "livez",
    "liveness",
    "ping",
    "metrics",
    "status",
];

/// A path (or URL) template, normalized; `None` when it is not an HTTP
/// path or is a health check.
pub fn normalize(t: &str) -> Option<String> {
    let mut t = t.trim();
    for scheme in ["http://", "https://"] {
        if let Some(rest) = t.strip_prefix(scheme) {
            t = rest.find('/').map_or("/", |i| &rest[i..]);
        }
    }
    // A base URL computed at run time.
    while let Some(rest) = t.strip_prefix("{}") {
        t = rest;
    }
    if !t.starts_with('/') {
        return None;
    }
    let t = t.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<String> = t
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let param = s.contains('{')
                || s.starts_with(':')
                || s.starts_with('<')
                || s.starts_with('*')
                || s.starts_with('$');
            if param {
                "{}".to_owned()
            } else {
                s.to_ascii_lowercase()
            }
        })
        .collect();
    if segs.iter().any(|s| s.contains(char::is_whitespace)) {
        return None;
    }
    if segs.len() <= 2 && segs.last().is_some_and(|s| HEALTH.contains(&s.as_str())) {
        return None;
    }
    Some(format!("/{}", segs.join("/")))
}

/// Whether a call path reaches a route path: same number of segments,
/// each equal or a parameter on either side. The score counts literal
/// segments that matched (higher is more specific).
pub fn matches(call: &str, route: &str) -> Option<usize> {
    let a: Vec<&str> = call.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    if a.len() != b.len() {
        return None;
    }
    let mut score = 0;
    for (x, y) in a.iter().zip(&b) {
        if x == y {
            score += usize::from(*x != "{}");
        } else if *x != "{}" && *y != "{}" {
            return None;
        }
    }
    Some(score)
}

fn last_segment(callee: &str) -> &str {
    callee.rsplit(['.', ':']).next().unwrap_or(callee)
}

fn receiver(callee: &str) -> &str {
    let end = callee.len() - last_segment(callee).len();
    callee[..end].trim_end_matches(['.', ':'])
}

fn is_client(recv: &str) -> bool {
    let last = last_segment(recv)
        .trim_end_matches("()")
        .to_ascii_lowercase();
    CLIENTS.contains(&last.as_str()) || last.ends_with("client") || last.ends_with("session")
}

fn verb(name: &str) -> Option<String> {
    let l = name.to_ascii_lowercase();
    VERBS.contains(&l.as_str()).then(|| l.to_ascii_uppercase())
}

fn named<'a>(args: &'a [Arg], keys: &[&str]) -> Option<&'a Arg> {
    args.iter().find_map(|a| match a {
        Arg::Named(k, v) if keys.contains(&k.as_str()) => Some(&**v),
        _ => None,
    })
}

/// Methods named in free text (`methods=["POST"]`, `RequestMethod.PUT`,
/// `get(h).post(h2)`, `{ method: 'DELETE' }`).
fn methods_in(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for v in VERBS {
        let hit = lower.match_indices(v).any(|(i, _)| {
            let before = lower[..i].chars().next_back();
            let after = lower[i + v.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if hit {
            out.push(v.to_ascii_uppercase());
        }
    }
    out
}

/// The routes a file declares.
pub fn routes(facts: &CodeFacts) -> Vec<Endpoint> {
    let mut out = Vec::new();
    // Router variables with a prefix: fastapi `APIRouter(prefix=…)`, flask
    // `Blueprint(…, url_prefix=…)`.
    let prefixes: Vec<(&str, &str)> = facts
        .sites
        .iter()
        .filter(|s| !s.decorator)
        .filter_map(|s| {
            let t = s.target.as_deref()?;
            let name = last_segment(&s.callee);
            if !matches!(name, "APIRouter" | "Blueprint" | "Router") {
                return None;
            }
            let p = named(&s.args, &["prefix", "url_prefix"])?.as_str()?;
            Some((t, p))
        })
        .collect();
    let mut push = |methods: Vec<String>, path: String, line: u32| {
        let Some(path) = normalize(&path) else { return };
        if methods.is_empty() {
            out.push(Endpoint {
                method: None,
                path,
                line,
            });
        } else {
            for m in methods {
                out.push(Endpoint {
                    method: Some(m),
                    path: path.clone(),
                    line,
                });
            }
        }
    };
    for s in &facts.sites {
        let name = last_segment(&s.callee);
        if s.decorator {
            decorator_route(s, name, &prefixes, &mut push);
            continue;
        }
        let Some(first) = s.args.first().and_then(Arg::as_str) else {
            continue;
        };
        let handle = matches!(name, "HandleFunc" | "Handle" | "handle" | "handleFunc");
        if s.args.len() < 2 || (!handle && is_client(receiver(&s.callee))) {
            continue;
        }
        // net/http (Go 1.22 patterns may start with a method).
        let (method_in_path, path) = match first.split_once(' ') {
            Some((m, p)) if verb(m).is_some() && m.chars().all(|c| c.is_ascii_uppercase()) => {
                (verb(m), p)
            }
            _ => (None, first),
        };
        if !path.starts_with('/') {
            continue;
        }
        let methods = match name {
            "route" => methods_in(s.args[1].text()),
            "HandleFunc" | "Handle" | "handle" | "handleFunc" | "Any" | "all" | "use" => {
                if name == "use" {
                    continue;
                }
                method_in_path.into_iter().collect()
            }
            n => match verb(n) {
                Some(m) => vec![m],
                None => continue,
            },
        };
        push(methods, path.to_owned(), s.line);
    }
    out.sort();
    out.dedup();
    out
}

fn decorator_route(
    s: &Site,
    name: &str,
    prefixes: &[(&str, &str)],
    push: &mut impl FnMut(Vec<String>, String, u32),
) {
    let path = s
        .args
        .first()
        .and_then(Arg::as_str)
        .or_else(|| named(&s.args, &["value", "path", "rule"]).and_then(Arg::as_str));
    let Some(path) = path else { return };
    // Spring.
    let spring = match name {
        "GetMapping" => Some(vec!["GET".to_owned()]),
        "PostMapping" => Some(vec!["POST".to_owned()]),
        "PutMapping" => Some(vec!["PUT".to_owned()]),
        "DeleteMapping" => Some(vec!["DELETE".to_owned()]),
        "PatchMapping" => Some(vec!["PATCH".to_owned()]),
        "RequestMapping" => {
            Some(named(&s.args, &["method"]).map_or_else(Vec::new, |m| methods_in(m.text())))
        }
        _ => None,
    };
    if let Some(methods) = spring {
        let full = format!("{}/{}", s.prefix.as_deref().unwrap_or(""), path);
        push(methods, full, s.line);
        return;
    }
    let recv = receiver(&s.callee);
    let prefix = prefixes
        .iter()
        .find(|(v, _)| *v == recv)
        .map_or("", |(_, p)| p);
    let methods = match name {
        "route" | "api_route" => {
            named(&s.args, &["methods"]).map_or_else(Vec::new, |m| methods_in(m.text()))
        }
        n => match verb(n) {
            Some(m) => vec![m],
            None => return,
        },
    };
    push(methods, format!("{prefix}/{path}"), s.line);
}

/// The HTTP calls a file makes.
pub fn calls(facts: &CodeFacts) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for s in facts.sites.iter().filter(|s| !s.decorator) {
        let name = last_segment(&s.callee);
        let recv = receiver(&s.callee);
        let (method, url): (Option<String>, Option<&Arg>) = match name {
            "fetch" if recv.is_empty() || recv == "window" => {
                let m = s
                    .args
                    .get(1)
                    .map(|o| methods_in(o.text()))
                    .and_then(|m| m.into_iter().next())
                    .or_else(|| Some("GET".into()));
                (m, s.args.first())
            }
            "NewRequest" => (
                s.args.first().and_then(Arg::as_str).and_then(verb),
                s.args.get(1),
            ),
            "NewRequestWithContext" => (
                s.args.get(1).and_then(Arg::as_str).and_then(verb),
                s.args.get(2),
            ),
            "uri" if s.callee.contains("()") => {
                // WebClient: `client.get().uri("/p")`.
                let m = VERBS
                    .iter()
                    .find(|v| s.callee.to_ascii_lowercase().contains(&format!(".{v}()")))
                    .map(|v| v.to_ascii_uppercase());
                (m, s.args.first())
            }
            "request" if is_client(recv) => (
                s.args.first().and_then(Arg::as_str).and_then(verb),
                s.args.get(1),
            ),
            "exchange" if is_client(recv) => {
                let m = s
                    .args
                    .get(1)
                    .map(|a| methods_in(a.text()))
                    .and_then(|m| m.into_iter().next());
                (m, s.args.first())
            }
            n if is_client(recv) || recv == "reqwest" => {
                let base = n
                    .strip_suffix("ForObject")
                    .or_else(|| n.strip_suffix("ForEntity"))
                    .or_else(|| n.strip_suffix("Form"))
                    .unwrap_or(n);
                match verb(base) {
                    Some(m) => (Some(m), s.args.first()),
                    None => continue,
                }
            }
            _ => continue,
        };
        let Some(url) = url.and_then(Arg::as_str) else {
            continue;
        };
        let looks_like_url =
            url.starts_with('/') || url.starts_with("http") || url.starts_with("{}/");
        if !looks_like_url {
            continue;
        }
        if let Some(path) = normalize(url) {
            out.push(Endpoint {
                method,
                path,
                line: s.line,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// gRPC servers and clients by the names generated code gives them:
/// `RegisterXServer`/`NewXClient` (Go), `add_XServicer_to_server`/`XStub`
/// (Python), `extends XGrpc.XImplBase`/`XGrpc.newBlockingStub` (Java),
/// `XServer::new`/`XClient::connect` (Rust, tonic), `new XClient(…)`
/// (JavaScript). Only names of services a `.proto` file declares count.
pub fn grpc(facts: &CodeFacts) -> Vec<Grpc> {
    let mut out = Vec::new();
    for s in facts.sites.iter().filter(|s| !s.decorator) {
        let callee = s.callee.trim_start_matches("new ");
        let name = last_segment(callee);
        let recv = last_segment(receiver(callee));
        let found = if let Some(t) = s.callee.strip_prefix("extends ") {
            // Java `extends AuthGrpc.AuthImplBase`.
            t.split('.')
                .next()
                .and_then(|g| g.strip_suffix("Grpc"))
                .map(|x| (x, true))
        } else if let Some(x) = name
            .strip_prefix("Register")
            .and_then(|n| n.strip_suffix("Server"))
        {
            Some((x, true))
        } else if let Some(x) = name
            .strip_prefix("New")
            .and_then(|n| n.strip_suffix("Client"))
        {
            Some((x, false))
        } else if let Some(x) = name
            .strip_prefix("add_")
            .and_then(|n| n.strip_suffix("Servicer_to_server"))
        {
            Some((x, true))
        } else if let Some(x) = recv
            .strip_suffix("Grpc")
            .filter(|_| name.starts_with("new") && name.ends_with("Stub"))
        {
            Some((x, false))
        } else if let Some(x) = name.strip_suffix("Stub").filter(|x| !x.is_empty()) {
            Some((x, false))
        } else if matches!(name, "new" | "from_arc" | "with_interceptor") {
            recv.strip_suffix("Server")
                .map(|x| (x, true))
                .or_else(|| recv.strip_suffix("Client").map(|x| (x, false)))
        } else if name == "connect" {
            recv.strip_suffix("Client").map(|x| (x, false))
        } else if s.callee.starts_with("new ") {
            name.strip_suffix("Client").map(|x| (x, false))
        } else {
            None
        };
        if let Some((service, server)) = found
            && !service.is_empty()
        {
            out.push(Grpc {
                service: service.to_owned(),
                server,
                line: s.line,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{Lang, facts};

    #[test]
    fn normalizing() {
        assert_eq!(
            normalize("/API/Invoices/{invoiceId}").as_deref(),
            Some("/api/invoices/{}")
        );
        assert_eq!(
            normalize("{}/api/invoices/{}?x=1").as_deref(),
            Some("/api/invoices/{}")
        );
        assert_eq!(
            normalize("http://billing:8000/api/invoices/:id").as_deref(),
            Some("/api/invoices/{}")
        );
        assert_eq!(
            normalize("/users/<int:user_id>/").as_deref(),
            Some("/users/{}")
        );
        assert_eq!(normalize("/healthz"), None);
        assert_eq!(normalize("/api/health"), None);
        assert_eq!(normalize("users"), None);
        assert_eq!(matches("/api/invoices/{}", "/api/invoices/{}"), Some(2));
        assert_eq!(matches("/api/invoices/42", "/api/invoices/{}"), Some(2));
        assert_eq!(matches("/api/invoices", "/api/invoices/{}"), None);
    }

    #[test]
    fn python_routes_and_calls() {
        let f = facts(
            Lang::Python,
            r#"router = APIRouter(prefix="/api")
bp = Blueprint("b", __name__, url_prefix="/v1")
@router.get("/invoices/{invoice_id}")
def a(): pass
@bp.route("/things/<int:id>", methods=["POST", "PUT"])
def b(): pass
@app.get("/healthz")
def h(): pass
def c():
    requests.get(f"{AUTH_URL}/users/{uid}")
    httpx.post(AUTH + "/sessions", json={})
    cache.get("/not/a/call")
"#,
        );
        let r: Vec<_> = routes(&f).into_iter().map(|e| (e.method, e.path)).collect();
        assert_eq!(
            r,
            [
                (Some("GET".into()), "/api/invoices/{}".into()),
                (Some("POST".into()), "/v1/things/{}".into()),
                (Some("PUT".into()), "/v1/things/{}".into()),
            ]
        );
        let c: Vec<_> = calls(&f).into_iter().map(|e| (e.method, e.path)).collect();
        assert_eq!(
            c,
            [
                (Some("GET".into()), "/users/{}".into()),
                (Some("POST".into()), "/sessions".into())
            ]
        );
    }

    #[test]
    fn js_go_java() {
        let js = facts(
            Lang::TypeScript,
            "app.get('/api/users/:id', handler);\nrouter.use('/api', r);\nconst x = await fetch(`${API}/api/invoices/${id}`, { method: 'POST' });\naxios.delete('/api/users/' + id);\n",
        );
        assert_eq!(
            routes(&js).into_iter().map(|e| e.path).collect::<Vec<_>>(),
            ["/api/users/{}"]
        );
        let c: Vec<_> = calls(&js).into_iter().map(|e| (e.method, e.path)).collect();
        assert_eq!(
            c,
            [
                (Some("DELETE".into()), "/api/users/{}".into()),
                (Some("POST".into()), "/api/invoices/{}".into()),
            ]
        );
        let go = facts(
            Lang::Go,
            "package main\nfunc main() {\n r.GET(\"/api/users/:id\", h)\n http.HandleFunc(\"POST /api/sessions\", s)\n http.HandleFunc(\"/healthz\", ok)\n req, _ := http.NewRequest(\"PUT\", base+\"/api/invoices/\"+id, nil)\n pb.RegisterAuthServer(s, srv)\n c := pb.NewBillingClient(conn)\n}\n",
        );
        let r: Vec<_> = routes(&go)
            .into_iter()
            .map(|e| (e.method, e.path))
            .collect();
        assert_eq!(
            r,
            [
                (Some("GET".into()), "/api/users/{}".into()),
                (Some("POST".into()), "/api/sessions".into())
            ]
        );
        assert_eq!(calls(&go)[0].path, "/api/invoices/{}");
        assert_eq!(calls(&go)[0].method.as_deref(), Some("PUT"));
        let g: Vec<_> = grpc(&go)
            .into_iter()
            .map(|g| (g.service, g.server))
            .collect();
        assert_eq!(g, [("Auth".into(), true), ("Billing".into(), false)]);

        let java = facts(
            Lang::Java,
            r#"@RestController
@RequestMapping("/api")
class C {
  @GetMapping("/ledgers/{id}") Object a() { return null; }
  @RequestMapping(value = "/ledgers", method = RequestMethod.POST) Object b() { return null; }
  Object c() { return webClient.get().uri("/API/Invoices/{invoiceId}", id).retrieve(); }
  Object d() { return AuthGrpc.newBlockingStub(ch); }
}
"#,
        );
        let r: Vec<_> = routes(&java)
            .into_iter()
            .map(|e| (e.method, e.path))
            .collect();
        assert_eq!(
            r,
            [
                (Some("GET".into()), "/api/ledgers/{}".into()),
                (Some("POST".into()), "/api/ledgers".into())
            ]
        );
        assert_eq!(calls(&java)[0].path, "/api/invoices/{}");
        assert_eq!(grpc(&java)[0].service, "Auth");
    }
}
