//! YAML (and JSON, which YAML reads) as a tree whose scalars remember where they stand in the
//! text: what `ferry images` reports (line and column) and what `map --rewrite` replaces (the
//! byte range), so a rewrite edits the text in place and keeps comments, order and formatting.
//! Aliases are resolved to their anchor's node, so an image written once under an anchor and
//! used twice is found at, and rewritten in, the one place it is written.

use std::ops::Range;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Keys and values in document order.
    Map(Vec<(Node, Node)>),
}

/// A scalar, its style and its place in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub value: String,
    pub style: Style,
    /// Byte range of the scalar as written (quotes included).
    pub span: Range<usize>,
    /// 1-based line and column of its first character.
    pub line: usize,
    pub column: usize,
}

/// How a scalar is written: only plain and quoted ones on one line are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>`: not rewritten.
    Block,
}

/// A YAML text that does not parse, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar's text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(&s.value),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }
}

/// Parses every document of `text`.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut b = Builder {
        text,
        // Markers count characters; spans are bytes.
        byte_of: text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect(),
        stack: Vec::new(),
        anchors: Vec::new(),
        docs: Vec::new(),
        depth_exceeded: false,
    };
    let mut p = Parser::new_from_str(text);
    p.load(&mut b, true).map_err(|e| YamlError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if b.depth_exceeded {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: format!("nested more than {MAX_DEPTH} levels deep"),
        });
    }
    Ok(b.docs)
}

/// Deepest nesting read (a Kubernetes object is a few dozen levels at most).
pub const MAX_DEPTH: usize = 256;

enum Open {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

struct Builder<'a> {
    text: &'a str,
    byte_of: Vec<usize>,
    stack: Vec<Open>,
    anchors: Vec<(usize, Node)>,
    docs: Vec<Node>,
    depth_exceeded: bool,
}

impl Builder<'_> {
    fn byte(&self, char_index: usize) -> usize {
        self.byte_of
            .get(char_index)
            .copied()
            .unwrap_or(self.text.len())
    }

    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(items, _)) => items.push(node),
            Some(Open::Map(entries, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn scalar(&self, value: String, style: TScalarStyle, mark: Marker) -> Scalar {
        let start = self.byte(mark.index());
        let style = match style {
            TScalarStyle::SingleQuoted => Style::SingleQuoted,
            TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
            TScalarStyle::Literal | TScalarStyle::Folded => Style::Block,
            _ => Style::Plain,
        };
        let end = scalar_end(self.text, start, style);
        Scalar {
            value,
            style,
            span: start..end,
            line: mark.line(),
            column: mark.col() + 1,
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.depth_exceeded {
            return;
        }
        match ev {
            Event::Scalar(value, style, anchor, _) => {
                let s = self.scalar(value, style, mark);
                self.push(Node::Scalar(s), anchor);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if self.stack.len() >= MAX_DEPTH =>
            {
                let _ = anchor;
                self.depth_exceeded = true;
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => self.stack.push(Open::Map(Vec::new(), None, anchor)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(items, anchor)) => self.push(Node::Seq(items), anchor),
                Some(Open::Map(entries, _, anchor)) => self.push(Node::Map(entries), anchor),
                None => {}
            },
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or(Node::Scalar(Scalar {
                        value: String::new(),
                        style: Style::Plain,
                        span: 0..0,
                        line: mark.line(),
                        column: mark.col() + 1,
                    }));
                self.push(node, 0);
            }
            _ => {}
        }
    }
}

/// Where a scalar that starts at byte `start` ends: after its closing quote, or (plain) at the
/// end of the line, a ` #` comment, or a flow indicator.
fn scalar_end(text: &str, start: usize, style: Style) -> usize {
    let rest = text.get(start..).unwrap_or("");
    let bytes = rest.as_bytes();
    match style {
        Style::DoubleQuoted => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return start + i + 1,
                    _ => i += 1,
                }
            }
            text.len()
        }
        Style::SingleQuoted => {
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return start + i + 1;
                }
                i += 1;
            }
            text.len()
        }
        Style::Plain => {
            let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
            let line = &rest[..line_end];
            let mut end = line.len();
            if let Some(c) = line.find(" #") {
                end = end.min(c);
            }
            if let Some(c) = line.find(['\t']) {
                end = end.min(c);
            }
            for flow in [", ", ",", "]", "}"] {
                if let Some(c) = line.find(flow) {
                    // Only a flow context ends a plain scalar at these; a block one may hold
                    // them, and an image reference never does.
                    end = end.min(c);
                }
            }
            start + line[..end].trim_end().len()
        }
        Style::Block => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_know_their_bytes_lines_and_columns() {
        let text = "# é comment\na: &x \"q:1\"\nb: 'it''s'\nc: plain:2 # c\nd: *x\n---\n{\"image\": \"j:3\"}\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        let a = docs[0].get("a").unwrap().as_scalar().unwrap();
        assert_eq!(
            (a.value.as_str(), &text[a.span.clone()], a.line, a.column),
            ("q:1", "\"q:1\"", 2, 7)
        );
        let b = docs[0].get("b").unwrap().as_scalar().unwrap();
        assert_eq!(&text[b.span.clone()], "'it''s'");
        let c = docs[0].get("c").unwrap().as_scalar().unwrap();
        assert_eq!(&text[c.span.clone()], "plain:2");
        // The alias is the anchor's node, at the anchor's place.
        assert_eq!(docs[0].get("d").unwrap().as_scalar().unwrap().span, a.span);
        let j = docs[1].get("image").unwrap().as_scalar().unwrap();
        assert_eq!(&text[j.span.clone()], "\"j:3\"");
    }

    #[test]
    fn bad_and_deep_yaml_is_an_error_not_a_panic() {
        let e = parse("a: [1, 2\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
        assert!(parse(&"[".repeat(10_000)).is_err());
        assert!(parse(&format!("{}1{}", "[".repeat(300), "]".repeat(300))).is_err());
    }
}
