-- The audit log, derived from git history: every commit of the checked-out
-- branch's first-parent chain (merged branches count as their merge
-- commit) and what it did to the items — the semantic diff from its first
-- parent, as `nonlinear diff` computes it.
CREATE TABLE nl_audit_commits (
    commit_id text PRIMARY KEY,
    parent_id text,
    -- 0 for the root commit, then 1, 2, … along the chain.
    position  integer NOT NULL,
    author    text NOT NULL,
    email     text NOT NULL,
    at        timestamptz NOT NULL,
    summary   text NOT NULL,
    -- xxh3 of the commit's changes as written: verify compares it with
    -- the rows nl_audit holds.
    hash      bigint NOT NULL
);
CREATE INDEX nl_audit_commits_position ON nl_audit_commits (position);

-- One row per change: `created` / `deleted` (before or after is the
-- item's kind, path and title), `field` (a field and its values before
-- and after; null for absent), `link_added` / `link_removed` (field is
-- the link kind, the value `{to, layer}`).
CREATE TABLE nl_audit (
    commit_id text NOT NULL REFERENCES nl_audit_commits ON DELETE CASCADE,
    seq       integer NOT NULL,
    item_key  text NOT NULL,
    event     text NOT NULL,
    field     text,
    before    jsonb,
    after     jsonb,
    PRIMARY KEY (commit_id, seq)
);
CREATE INDEX nl_audit_item ON nl_audit (item_key);
