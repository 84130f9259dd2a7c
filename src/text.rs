//! Text from outside (a registry, a token service, a bundle) on its way to a terminal
//! (DESIGN §1): control characters are shown, never obeyed, so an answer cannot clear the
//! screen, retitle the terminal, move the cursor or forge a line such as "exported OK".
//! It imports nothing else of ferry's.

/// Whether `c` would act on a terminal or hide text: C0 controls, DEL, C1 controls, and the
/// bidirectional overrides that reorder what is shown ("trojan source").
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    let n = u32::from(c);
    if n < 0x100 {
        out.push_str(&format!("\\x{n:02x}"));
    } else {
        out.push_str(&format!("\\u{{{n:x}}}"));
    }
}

/// Every control character escaped (`\x1b`, `\x07`, `\x0d`, `\x0a`, `\x9b`, `\u{202e}`): for
/// a string from outside put into a message, where even a line break is not its to make.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hazard(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`escape`] but keeps `\n`: for whole lines ferry prints, whose line breaks are its own
/// (strings from outside were escaped with [`escape`] when they entered the message).
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c != '\n' && is_hazard(c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c != '\n' && is_hazard(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// serde_json output made safe for a terminal: it escapes C0 controls itself but passes DEL,
/// C1 controls and bidirectional overrides through; those become `\u00XX` escapes, which
/// mean the same to every JSON reader. Outside strings they cannot occur (JSON syntax is
/// ASCII), so the document stays valid and equal.
pub fn json_safe(json: &str) -> String {
    if !json.chars().any(is_hazard_in_json) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_hazard_in_json(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_hazard_in_json(c: char) -> bool {
    c != '\n' && is_hazard(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        let hostile = "\u{1b}[2J\u{7}\rexported OK\u{7f}\u{9b}31m\u{202e}x\ty\nz";
        assert_eq!(
            escape(hostile),
            "\\x1b[2J\\x07\\x0dexported OK\\x7f\\x9b31m\\u{202e}x\\x09y\\x0az"
        );
        assert_eq!(
            printable(hostile),
            "\\x1b[2J\\x07\\x0dexported OK\\x7f\\x9b31m\\u{202e}x\\x09y\nz"
        );
        assert_eq!(escape("plain · text ✓"), "plain · text ✓");
        assert_eq!(printable("two\nlines"), "two\nlines");
    }

    #[test]
    fn json_stays_json() {
        let v = serde_json::json!({"m": "a\u{1b}b\u{7f}c\u{9b}d\u{202e}e"});
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_safe(&text);
        assert!(
            !safe.contains(['\u{1b}', '\u{7f}', '\u{9b}', '\u{202e}']),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }
}
