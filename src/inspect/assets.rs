//! The page: plain files from `ui/`, embedded in the binary. No build step.

/// The file for `name` (the path after `/_hookctl/`) and its content type.
pub fn get(name: &str) -> Option<(&'static [u8], &'static str)> {
    Some(match name {
        "" | "index.html" => (
            include_bytes!("../../ui/index.html"),
            "text/html; charset=utf-8",
        ),
        "app.js" => (
            include_bytes!("../../ui/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "app.css" => (
            include_bytes!("../../ui/app.css"),
            "text/css; charset=utf-8",
        ),
        "favicon.svg" => (include_bytes!("../../ui/favicon.svg"), "image/svg+xml"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_whole_ui_is_at_most_150_kb() {
        let total: usize = ["index.html", "app.js", "app.css", "favicon.svg"]
            .iter()
            .map(|n| super::get(n).map_or(0, |(b, _)| b.len()))
            .sum();
        assert!(total <= 150_000, "the UI weighs {total} bytes");
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let (html, _) = super::get("index.html").unwrap();
        let html = std::str::from_utf8(html).unwrap();
        assert!(!html.contains("<script>") && !html.contains("style="));
        assert!(!html.contains("onclick") && !html.contains("onload"));
        let (js, _) = super::get("app.js").unwrap();
        let js = std::str::from_utf8(js).unwrap();
        assert!(!js.contains("innerHTML") && !js.contains("outerHTML"));
        assert!(!js.contains("insertAdjacentHTML") && !js.contains("document.write"));
        assert!(!js.contains("eval(") && !js.contains("new Function"));
    }
}
