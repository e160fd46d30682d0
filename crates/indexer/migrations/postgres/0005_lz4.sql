-- Content columns are compressed with lz4 rather than pglz when they are
-- TOASTed: a full sync of 100k issues writes ~400 MB of descriptions,
-- HTML and JSON, and pglz spent most of the sync's time on them.
-- (PostgreSQL 14 or later, built with lz4 as the Debian and Docker builds are.)
ALTER TABLE nl_nodes
    ALTER COLUMN description SET COMPRESSION lz4,
    ALTER COLUMN description_html SET COMPRESSION lz4,
    ALTER COLUMN fields SET COMPRESSION lz4;
ALTER TABLE nl_comments
    ALTER COLUMN body SET COMPRESSION lz4,
    ALTER COLUMN body_html SET COMPRESSION lz4,
    ALTER COLUMN reactions SET COMPRESSION lz4;
