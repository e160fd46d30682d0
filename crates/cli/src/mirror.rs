//! `nonlinear mirror sync | verify [--repair] | status`: the Postgres and
//! Neo4j mirrors of `indexer::mirror` (Postgres driven from a runtime of
//! its own: the rest of the CLI is synchronous), with the audit log from
//! git history in Postgres.

use std::path::Path;

use std::collections::HashSet;

use indexer::git::Repo;
use indexer::mirror::{self, Verify, audit, neo4j::Neo4j, postgres::Postgres};
use schema::store::Store;

use crate::{MirrorAction, Outcome};

pub fn run(
    cwd: &Path,
    action: MirrorAction,
    postgres: Option<String>,
    neo4j: Option<String>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let postgres = postgres.or_else(|| std::env::var("NONLINEAR_POSTGRES_URL").ok());
    let neo4j = neo4j.or_else(|| std::env::var("NONLINEAR_NEO4J_URL").ok());
    anyhow::ensure!(
        postgres.is_some() || neo4j.is_some(),
        "no mirror: pass --postgres URL or --neo4j URL (or set NONLINEAR_POSTGRES_URL, NONLINEAR_NEO4J_URL)"
    );
    let store = Store::discover(cwd)?;
    let mut outcome = Outcome::Ok;
    if let Some(url) = neo4j
        && run_neo4j(&store, &action, &url, json)? == Outcome::Problems
    {
        outcome = Outcome::Problems;
    }
    let Some(url) = postgres else {
        return Ok(outcome);
    };
    let pg_outcome = run_postgres(&store, action, &url, json)?;
    Ok(if pg_outcome == Outcome::Problems {
        Outcome::Problems
    } else {
        outcome
    })
}

/// The Neo4j mirror (a blocking driver).
fn run_neo4j(
    store: &Store,
    action: &MirrorAction,
    url: &str,
    json: bool,
) -> anyhow::Result<Outcome> {
    let neo = Neo4j::connect(url)?;
    match action {
        MirrorAction::Sync => {
            let r = neo.sync(&mirror::rows_of(store))?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for t in &r.tables {
                    outln!(
                        "{:<14} +{} ~{} -{}",
                        t.table,
                        t.inserted,
                        t.updated,
                        t.deleted
                    );
                }
                outln!(
                    "neo4j: {} nodes and relationships changed in {:.0} ms",
                    r.changes(),
                    r.elapsed.as_secs_f64() * 1000.0
                );
            }
            Ok(Outcome::Ok)
        }
        MirrorAction::Verify { repair } => {
            let rows = mirror::rows_of(store);
            let mut v = neo.verify(&rows)?;
            if *repair && !v.is_clean() {
                let r = neo.sync_forced(&rows, &v.to_force())?;
                eprintln!(
                    "repaired: {} nodes and relationships written or deleted",
                    r.changes()
                );
                v = neo.verify(&rows)?;
            }
            if json {
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                report("neo4j", &v);
            }
            Ok(if v.is_clean() {
                Outcome::Ok
            } else {
                Outcome::Problems
            })
        }
        MirrorAction::Status => {
            let version = neo.schema_version()?;
            let counts = neo.counts()?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"schema_version": version, "counts": counts})
                    )?
                );
            } else {
                outln!(
                    "neo4j: schema version {}",
                    version.map_or("none".into(), |v| v.to_string())
                );
                for (label, n) in counts {
                    outln!("{label:<14} {n}");
                }
            }
            Ok(Outcome::Ok)
        }
    }
}

fn run_postgres(
    store: &Store,
    action: MirrorAction,
    url: &str,
    json: bool,
) -> anyhow::Result<Outcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let pg = Postgres::connect(url).await?;
        match action {
            MirrorAction::Sync => {
                let rows = mirror::rows_of(store);
                let mut r = pg.sync(&rows, &Default::default()).await?;
                if let Some(repo) = history(store) {
                    let known = pg.audit_known().await?;
                    let plan = audit::plan(&repo, "HEAD", &known)?;
                    r.tables.push(pg.write_audit(&plan, &[]).await?);
                }
                if json {
                    outln!("{}", serde_json::to_string_pretty(&r)?);
                } else {
                    for t in &r.tables {
                        outln!(
                            "{:<12} +{} ~{} -{}",
                            t.table,
                            t.inserted,
                            t.updated,
                            t.deleted
                        );
                    }
                    outln!(
                        "postgres: {} rows changed in {:.0} ms",
                        r.changes(),
                        r.elapsed.as_secs_f64() * 1000.0
                    );
                }
                Ok(Outcome::Ok)
            }
            MirrorAction::Verify { repair } => {
                let rows = mirror::rows_of(store);
                let repo = history(store);
                let verify = async |pg: &Postgres| -> anyhow::Result<(Verify, Verify)> {
                    let audit = match &repo {
                        Some(r) => pg.verify_audit(&r.chain("HEAD")?).await?,
                        None => Verify::default(),
                    };
                    Ok((pg.verify(&rows).await?, audit))
                };
                let (mut v, mut a) = verify(&pg).await?;
                if repair && !(v.is_clean() && a.is_clean()) {
                    let r = pg.sync(&rows, &v.to_force()).await?;
                    let mut changes = r.changes();
                    if let Some(repo) = &repo {
                        // Commits whose rows differ are written again.
                        let replace: Vec<String> =
                            a.mismatched.iter().map(|d| d.key.clone()).collect();
                        let known: HashSet<String> = pg
                            .audit_known()
                            .await?
                            .into_iter()
                            .filter(|k| !replace.contains(k))
                            .collect();
                        let plan = audit::plan(repo, "HEAD", &known)?;
                        let t = pg.write_audit(&plan, &replace).await?;
                        changes += t.inserted + t.deleted;
                    }
                    eprintln!("repaired: {changes} rows written or deleted");
                    (v, a) = verify(&pg).await?;
                }
                v.checked += a.checked;
                v.missing.extend(a.missing);
                v.orphans.extend(a.orphans);
                v.mismatched.extend(a.mismatched);
                if json {
                    outln!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    report("postgres", &v);
                }
                Ok(if v.is_clean() {
                    Outcome::Ok
                } else {
                    Outcome::Problems
                })
            }
            MirrorAction::Status => {
                let s = pg.status().await?;
                if json {
                    outln!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    outln!(
                        "postgres: schema version {}, last sync {}",
                        s.schema_version.map_or("none".into(), |v| v.to_string()),
                        s.synced_at.as_deref().unwrap_or("never")
                    );
                    for (t, n) in &s.tables {
                        outln!("{t:<12} {n}");
                    }
                }
                Ok(Outcome::Ok)
            }
        }
    })
}

/// The repository whose history makes the audit log: none when the
/// workspace is not in one or it has no commit yet.
fn history(store: &Store) -> Option<Repo> {
    Repo::open(store.root())
        .ok()
        .filter(|r| r.rev("HEAD").is_ok())
}

fn report(name: &str, v: &Verify) {
    for d in &v.missing {
        outln!("missing   {} {}", d.table, d.key);
    }
    for d in &v.orphans {
        outln!("orphan    {} {}", d.table, d.key);
    }
    for d in &v.mismatched {
        outln!("mismatch  {} {} ({})", d.table, d.key, d.fields.join(", "));
    }
    if v.is_clean() {
        outln!("{name}: {} rows match the files", v.checked);
    } else {
        outln!(
            "{name}: {} missing, {} orphans, {} mismatched of {} rows; `nonlinear mirror verify --repair` fixes them",
            v.missing.len(),
            v.orphans.len(),
            v.mismatched.len(),
            v.checked
        );
    }
}
