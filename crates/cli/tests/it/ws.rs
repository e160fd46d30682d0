//! A small hand-written workspace, shared by the edit and read tests.
//!
//! Its files are written the way people leave them: comments everywhere,
//! keys in no particular order, every quoting style, unknown fields and a
//! body holding a `---` line, so that "the rest of the file is untouched" is
//! really tested.
//!
//! The graph:
//!
//! ```text
//! AUTH (services/auth/COMPONENT.md)      BILLING (.nonlinear/components)
//!  ├── NL-aaaa todo, @ana, bug+chore       depends_on AUTH
//!  │     blocks NL-bbbb, relates_to NL-cccc
//!  └── NL-bbbb in_progress, @bob
//!        blocks NL-dddd
//!        └── NL-dddd todo (sub-issue)
//! NL-cccc backlog, relates_to nl-BBBB and (by UUID) NL-eeee
//! NL-eeee done, blocks NL-cccc, relates_to NL-bbbb by UUID
//! NL-art1 link artifact attached_to NL-bbbb, AUTH
//! comment C1 by bob on NL-aaaa, reactions {"+1": [bob]}
//! ```

use crate::support::Repo;

pub const CONFIG: &str = "\
# Hand-written config: comments and odd key order on purpose.
name: 'Integration'
key: NL
version: 1

statuses:
  - {key: backlog, name: Backlog, category: backlog}
  - {key: todo, name: Todo, category: unstarted}
  - {key: in_progress, name: In Progress, category: started}
  - {key: done, name: Done, category: completed}
  - {key: canceled, name: Canceled, category: canceled}

labels:
  - {name: bug}
  - {name: feature}
  - {name: chore}

members:
  - {handle: ana, name: Ana Lima, email: ana@example.com}
  - {handle: bob, name: Bob}

cycles:
  - {key: 2026-w48, name: Week 48}
  - {key: 2026-w49, name: Week 49}
";

pub const AUTH: &str = "services/auth/COMPONENT.md";
pub const AUTH_TEXT: &str = "\
---
# The auth service; code lives next to this file.
title: Auth service
short_id: AUTH
id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
owner: ana
---

Login and sessions.
";

pub const BILLING: &str = ".nonlinear/components/BILLING.md";
pub const BILLING_TEXT: &str = "\
---
id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a91
short_id: BILLING
title: Billing
depends_on: [AUTH]  # sessions for invoices
---
";

pub const A: &str = ".nonlinear/issues/NL-aaaa.md";
pub const A_ID: &str = "0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01";
pub const A_TEXT: &str = "\
---
# Triaged by hand; keep this comment.
title: 'Fix login redirect'  # shown in lists
short_id: NL-aaaa
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01
x-jira: 'ACME-1'
status: 'todo'  # workflow key
priority: 3
labels:
  - bug  # seen in prod
  - 'chore'
assignee: \"ana\"
estimate: 2
cycle: '2026-w48'
due: 2026-12-01
parent: AUTH
blocks: [NL-bbbb]
relates_to: ['NL-cccc']
x-team: {name: core, size: 3}
---

The redirect loops when the cookie domain differs.

---

- [ ] fix it
";

pub const B: &str = ".nonlinear/issues/NL-bbbb.md";
pub const B_ID: &str = "0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02";
pub const B_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02
short_id: NL-bbbb
title: Session store
status: in_progress
assignee: bob
parent: AUTH
blocks:
  - NL-dddd
---
Sessions live in Redis.
";

pub const C: &str = ".nonlinear/issues/NL-cccc.md";
pub const C_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03
short_id: NL-cccc
title: \"Audit cookies\"
status: backlog
relates_to:
  - 'nl-BBBB'   # written in another case
  - 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
---
";

pub const D: &str = ".nonlinear/issues/NL-dddd.md";
pub const D_TEXT: &str = "\
---
short_id: NL-dddd
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a04
title: Expire idle sessions
status: todo
parent: NL-bbbb
---
";

pub const E: &str = ".nonlinear/issues/NL-eeee.md";
pub const E_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
short_id: NL-eeee
title: Cookie flags
status: done
blocks: [NL-cccc]
relates_to: [0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02]  # NL-bbbb by UUID
---
";

pub const ART: &str = ".nonlinear/artifacts/NL-art1.md";
pub const ART_TEXT: &str = "\
---
id: 0193a6f0-9b00-7d2a-9b4e-2f1c3d5e7a03
short_id: NL-art1
title: Session design
kind: link
url: 'https://example.com/sessions'
attached_to: [NL-bbbb, AUTH]
---
";

pub const C1_ID: &str = "0193a6f1-0000-7000-8000-000000000001";
pub const C1: &str = ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01/0193a6f1-0000-7000-8000-000000000001.md";
pub const C1_TEXT: &str = "\
---
# A hand-written comment.
author: bob
id: 0193a6f1-0000-7000-8000-000000000001
created_at: 2026-11-24T11:00:00Z
reactions: {\"+1\": [bob]}
x-client: 'mail'
---

Looks like the cookie `Domain` attribute.
";

/// Every file of the workspace.
pub fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        (".nonlinear/config.yaml", CONFIG),
        (".nonlinear/.gitignore", "cache/\n"),
        (AUTH, AUTH_TEXT),
        (BILLING, BILLING_TEXT),
        (A, A_TEXT),
        (B, B_TEXT),
        (C, C_TEXT),
        (D, D_TEXT),
        (E, E_TEXT),
        (ART, ART_TEXT),
        (C1, C1_TEXT),
    ]
}

/// The workspace, committed at the top of a new repository.
pub fn repo() -> Repo {
    Repo::with_files(&files())
}
