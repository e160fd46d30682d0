-- Attachment metadata: one row per artifact whose content is stored —
-- an uploaded attachment (`url: /api/v1/attachments/<sha256>`) or a file
-- in the repository (`kind: file`) — with what its file says of it.
CREATE TABLE nl_attachments (
    artifact_id uuid PRIMARY KEY,
    path        text NOT NULL,
    storage     text NOT NULL,
    sha256      text,
    file        text,
    url         text,
    mime_type   text,
    size        bigint,
    hash        bigint NOT NULL
);
CREATE INDEX nl_attachments_path ON nl_attachments (path);
CREATE INDEX nl_attachments_sha256 ON nl_attachments (sha256);
