-- Non-Linear's Postgres mirror. The files in git are the truth; every row
-- here is derived from them by `nonlinear mirror sync` and can be rebuilt
-- at any time. See docs/mirrors.md.

-- The workspace config: one row.
CREATE TABLE nl_project (
    key    text PRIMARY KEY,
    name   text NOT NULL,
    config jsonb NOT NULL,
    hash   bigint NOT NULL
);

-- People and agents (the config's `members`).
CREATE TABLE nl_actors (
    handle text PRIMARY KEY,
    name   text NOT NULL,
    email  text,
    kind   text NOT NULL,
    hash   bigint NOT NULL
);

-- Every node of the graph: the project, cycles, components, issues and
-- artifacts, with their content (Markdown and sanitized HTML) and every
-- field as JSON (the `--json` shape of `nonlinear show`).
CREATE TABLE nl_nodes (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    key              text NOT NULL,
    title            text NOT NULL,
    path             text,
    status           text,
    category         text,
    priority         smallint,
    assignee         text,
    cycle            text,
    estimate         double precision,
    labels           text[] NOT NULL,
    parent_id        uuid,
    description      text NOT NULL,
    description_html text NOT NULL,
    fields           jsonb NOT NULL,
    hash             bigint NOT NULL
);
CREATE INDEX nl_nodes_key ON nl_nodes (key);
CREATE INDEX nl_nodes_kind_status ON nl_nodes (kind, status);
CREATE INDEX nl_nodes_assignee ON nl_nodes (assignee);
CREATE INDEX nl_nodes_parent ON nl_nodes (parent_id);

-- Every edge of the four layers, with its source (`manual`: written in a
-- file; `inferred`: the analyzer's) and, for inferred links, confidence
-- and evidence (`file:line`).
CREATE TABLE nl_edges (
    from_id    uuid NOT NULL,
    kind       text NOT NULL,
    to_id      uuid NOT NULL,
    source     text NOT NULL,
    layer      smallint NOT NULL,
    confidence double precision,
    evidence   text[] NOT NULL,
    hash       bigint NOT NULL,
    PRIMARY KEY (from_id, kind, to_id, source)
);
CREATE INDEX nl_edges_to ON nl_edges (to_id, kind);

-- Comments with their threads (`reply_to`) and reactions.
CREATE TABLE nl_comments (
    id         uuid PRIMARY KEY,
    node_id    uuid NOT NULL,
    path       text NOT NULL,
    author     text,
    created_at text,
    edited_at  text,
    reply_to   text,
    body       text NOT NULL,
    body_html  text NOT NULL,
    reactions  jsonb NOT NULL,
    hash       bigint NOT NULL
);
CREATE INDEX nl_comments_node ON nl_comments (node_id);

-- When the mirror last matched the files.
CREATE TABLE nl_sync (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    synced_at timestamptz NOT NULL,
    items     bigint NOT NULL
);
