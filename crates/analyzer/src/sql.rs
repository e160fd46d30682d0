//! SQL in strings and migrations, and the databases connection strings
//! name: the raw material of `SHARES_DB`.
//!
//! The level inferred at is the **table within a named database**: two
//! components share a database when both touch a table of the same
//! (schema-qualified) name in a database of the same name. A component's
//! databases are the names in the database URLs its files contain
//! (`postgres://…/billing`, `jdbc:mysql://…/ledger?…`, `sqlite:///data/app.db`
//! → `app`) — in code and in configuration (`.env`, `*.properties`,
//! `*.yaml`, `*.ini`, `*.toml`). A component that names none talks to the
//! *unnamed* database; tables of the unnamed database are shared at a lower
//! confidence.

/// Whether a literal reads as an SQL statement.
pub fn looks_like_sql(t: &str) -> bool {
    let first: String = t
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(
        first.as_str(),
        "select" | "insert" | "update" | "delete" | "create" | "alter" | "with" | "merge" | "drop"
    ) && t.trim().contains(char::is_whitespace)
}

/// Tables an SQL text touches: after `FROM`, `JOIN`, `INTO`, `UPDATE`,
/// `TABLE` (`CREATE TABLE IF NOT EXISTS x`, `ALTER TABLE x`), lower-cased,
/// quotes removed, schema kept (`audit.events`). Comments and string
/// literals inside the SQL are skipped.
pub fn tables(sql: &str) -> Vec<String> {
    let words = words(sql);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i].to_ascii_lowercase();
        let takes = matches!(w.as_str(), "from" | "join" | "into" | "update" | "table");
        if takes {
            let mut j = i + 1;
            // `TABLE IF NOT EXISTS`, `FROM ONLY`, `UPDATE ONLY`.
            while j < words.len()
                && matches!(
                    words[j].to_ascii_lowercase().as_str(),
                    "if" | "not" | "exists" | "only"
                )
            {
                j += 1;
            }
            if let Some(name) = words.get(j).and_then(|n| table_name(n)) {
                out.push(name);
            }
            i = j;
        }
        i += 1;
    }
    out.sort();
    out.dedup();
    out
}

/// Words of an SQL text: identifiers (dotted and quoted kept together),
/// with comments and `'…'` literals dropped; punctuation splits.
fn words(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'"' | b'`' | b'[' | b'{') {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || matches!(
                        b[i],
                        b'_' | b'.' | b'"' | b'`' | b'[' | b']' | b'$' | b'{' | b'}'
                    ))
            {
                i += 1;
            }
            out.push(&sql[start..i]);
        } else {
            i += 1;
        }
    }
    out
}

fn table_name(w: &str) -> Option<String> {
    let name: String = w
        .chars()
        .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
        .collect::<String>()
        .to_ascii_lowercase();
    let ok = !name.is_empty()
        && !name.contains("{}")
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        && !matches!(
            name.as_str(),
            "select" | "values" | "set" | "where" | "lateral" | "unnest" | "dual"
        );
    ok.then_some(name)
}

/// The database a connection URL names: its path's last segment (file
/// stem for SQLite), lower-cased; `None` for anything else.
pub fn database_of_url(t: &str) -> Option<String> {
    let t = t.trim();
    let t = t.strip_prefix("jdbc:").unwrap_or(t);
    let (scheme, rest) = t.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let known = [
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "sqlite",
        "sqlserver",
        "mssql",
        "mongodb",
        "mongodb+srv",
        "cockroachdb",
    ];
    if !known
        .iter()
        .any(|k| scheme == *k || scheme.starts_with(&format!("{k}+")))
    {
        return None;
    }
    let rest = rest.split(['?', '#', ';']).next().unwrap_or("");
    let name = if scheme == "sqlite" {
        let file = rest.rsplit('/').next().unwrap_or("");
        file.split('.').next().unwrap_or("")
    } else {
        let (_, path) = rest.split_once('/')?;
        path.rsplit('/').next().unwrap_or("")
    };
    let name = name.to_ascii_lowercase();
    (!name.is_empty()
        && !name.contains("{}")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
    .then_some(name)
}

/// Database URLs in a configuration file's text (`.env`, properties,
/// YAML, INI, TOML), with their lines.
pub fn urls_in_text(text: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.starts_with('#') || l.starts_with("//") || l.starts_with(';') {
            continue;
        }
        for word in l.split(|c: char| c.is_whitespace() || matches!(c, '=' | '"' | '\'' | ',')) {
            if database_of_url(word).is_some() {
                out.push((word.to_owned(), i as u32 + 1));
            }
        }
    }
    out
}

/// Tables an SQL file (a migration) touches, with the line of each first
/// mention.
pub fn tables_in_file(text: &str) -> Vec<(String, u32)> {
    let mut seen = std::collections::BTreeMap::new();
    // Statement by statement, to know lines.
    let mut line = 1u32;
    let mut start_line = 1u32;
    let mut stmt = String::new();
    for c in text.chars() {
        stmt.push(c);
        if c == '\n' {
            line += 1;
        }
        if c == ';' {
            for t in tables(&stmt) {
                seen.entry(t)
                    .or_insert(start_line + leading_newlines(&stmt));
            }
            stmt.clear();
            start_line = line;
        }
    }
    for t in tables(&stmt) {
        seen.entry(t)
            .or_insert(start_line + leading_newlines(&stmt));
    }
    seen.into_iter().collect()
}

fn leading_newlines(s: &str) -> u32 {
    let mut n = 0;
    for l in s.split('\n') {
        let t = l.trim();
        if t.is_empty() || t.starts_with("--") {
            n += 1;
        } else {
            break;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements() {
        assert!(looks_like_sql("SELECT id FROM users"));
        assert!(!looks_like_sql("select"));
        assert!(!looks_like_sql("Selected items"));
        assert_eq!(
            tables(
                "SELECT * FROM invoices i JOIN \"Customers\" c ON c.id = i.cid -- FROM fake\n WHERE x = 'from nope'"
            ),
            ["customers", "invoices"]
        );
        assert_eq!(
            tables("insert into audit.events (a) values (1)"),
            ["audit.events"]
        );
        assert_eq!(
            tables("CREATE TABLE IF NOT EXISTS users (id int)"),
            ["users"]
        );
        assert_eq!(tables("UPDATE {} SET a = 1"), Vec::<String>::new());
        assert_eq!(tables("DELETE FROM sessions WHERE id = $1"), ["sessions"]);
    }

    #[test]
    fn urls() {
        assert_eq!(
            database_of_url("postgres://u:p@db:5432/billing?sslmode=off").as_deref(),
            Some("billing")
        );
        assert_eq!(
            database_of_url("jdbc:postgresql://db/ledger").as_deref(),
            Some("ledger")
        );
        assert_eq!(
            database_of_url("sqlite:///var/data/app.db").as_deref(),
            Some("app")
        );
        assert_eq!(
            database_of_url("postgresql+asyncpg://h/analytics").as_deref(),
            Some("analytics")
        );
        assert_eq!(database_of_url("https://example.com/billing"), None);
        assert_eq!(database_of_url("postgres://{}/{}"), None);
        assert_eq!(
            urls_in_text("# DATABASE_URL=postgres://x/old\nDATABASE_URL=postgres://x/new\n"),
            [("postgres://x/new".to_owned(), 2)]
        );
    }

    #[test]
    fn migration_lines() {
        let t = "-- init\nCREATE TABLE users (id int);\n\nCREATE TABLE sessions (\n  user_id int\n);\nINSERT INTO users VALUES (1);\n";
        assert_eq!(
            tables_in_file(t),
            [("sessions".to_owned(), 4), ("users".to_owned(), 2)]
        );
    }
}
