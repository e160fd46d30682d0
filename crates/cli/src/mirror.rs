//! `nonlinear mirror sync | verify [--repair] | status`: the Postgres mirror
//! of `indexer::mirror`, driven from a runtime of its own (the rest of the
//! CLI is synchronous).

use std::path::Path;

use anyhow::Context as _;
use indexer::mirror::{self, Verify, postgres::Postgres};
use schema::store::Store;

use crate::{MirrorAction, Outcome};

pub fn run(
    cwd: &Path,
    action: MirrorAction,
    url: Option<String>,
    json: bool,
) -> anyhow::Result<Outcome> {
    let url = url
        .or_else(|| std::env::var("NONLINEAR_POSTGRES_URL").ok())
        .context("no mirror: pass --postgres URL or set NONLINEAR_POSTGRES_URL")?;
    let store = Store::discover(cwd)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let pg = Postgres::connect(&url).await?;
        match action {
            MirrorAction::Sync => {
                let rows = mirror::rows_of(&store);
                let r = pg.sync(&rows, &Default::default()).await?;
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
                let rows = mirror::rows_of(&store);
                let mut v = pg.verify(&rows).await?;
                if repair && !v.is_clean() {
                    let r = pg.sync(&rows, &v.to_force()).await?;
                    eprintln!("repaired: {} rows written or deleted", r.changes());
                    v = pg.verify(&rows).await?;
                }
                if json {
                    outln!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    report(&v);
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

fn report(v: &Verify) {
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
        outln!("postgres: {} rows match the files", v.checked);
    } else {
        outln!(
            "postgres: {} missing, {} orphans, {} mismatched of {} rows; `nonlinear mirror verify --repair` fixes them",
            v.missing.len(),
            v.orphans.len(),
            v.mismatched.len(),
            v.checked
        );
    }
}
