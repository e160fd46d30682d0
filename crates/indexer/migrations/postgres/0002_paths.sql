-- `mirror::postgres::Postgres::apply` finds the rows of changed files by
-- path.
CREATE INDEX nl_nodes_path ON nl_nodes (path);
CREATE INDEX nl_comments_path ON nl_comments (path);
