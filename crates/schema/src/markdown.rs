//! Descriptions and comments are Markdown; the HTML is derived, never
//! stored, and always sanitized.

use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The sanitizer, built once: building one makes its tag and attribute
/// sets anew, which cost more than cleaning a short description.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"]);
    b
});

/// Renders Markdown to HTML that is safe to insert into a page: scripts,
/// event handlers, `javascript:` URLs and the like are removed by ammonia,
/// and links get `rel="noopener noreferrer"`.
pub fn to_html(markdown: &str) -> String {
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, opts));
    SANITIZER.clean(&raw).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitizes() {
        let html = super::to_html(
            "# Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n- [x] done\n",
        );
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onerror") && !html.contains("javascript:"),
            "{html}"
        );
        assert!(html.contains("checked"), "{html}");
    }
}
