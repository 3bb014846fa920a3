//! YAML with positions.
//!
//! Catalog validation must report *every* problem with its line and column, and serde-based
//! YAML readers stop at the first error. So the file is read into a small tree of nodes that keep
//! their positions, and the descriptor readers walk it, collecting problems as they go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::Problem;

/// A position in a file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        Self {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

/// One YAML value with the position where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) mark: Mark,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar; `plain` is false when it was quoted (so `"true"` stays a string).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub(crate) fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for an explicit null (`~`, `null` or nothing).
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true }
            if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses one YAML document. An empty file is an empty mapping.
pub(crate) fn parse(text: &str) -> Result<Node, (Mark, String)> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| (Mark::from(*e.marker()), e.info().to_string()))?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Map(Vec::new()),
        mark: Mark { line: 1, col: 1 },
    }))
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<(Mark, String)>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(seq, _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let mark = Mark::from(mark);
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push_value(
                    Node {
                        value: Value::Scalar { text, plain },
                        mark,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(
                Node {
                    value: Value::Seq(Vec::new()),
                    mark,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(
                Node {
                    value: Value::Map(Vec::new()),
                    mark,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(frame) = self.stack.pop() {
                    let (mut node, anchor) = match frame {
                        Frame::Seq(node, anchor) | Frame::Map(node, anchor, _) => (node, anchor),
                    };
                    // A block mapping's start event is marked after its first key; its first
                    // key is where a reader looks for it.
                    if let Value::Map(entries) = &node.value
                        && let Some((first, _)) = entries.first()
                    {
                        node.mark = first.mark;
                    }
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.mark = mark;
                    self.push_value(node, 0);
                }
                None => {
                    self.error
                        .get_or_insert((mark, "alias refers to an unknown anchor".into()));
                }
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Reads typed fields out of nodes, collecting a [`Problem`] for everything that is wrong.
pub(crate) struct Reader<'p> {
    file: PathBuf,
    problems: &'p mut Vec<Problem>,
}

impl<'p> Reader<'p> {
    pub(crate) fn new(file: &Path, problems: &'p mut Vec<Problem>) -> Self {
        Self {
            file: file.to_path_buf(),
            problems,
        }
    }

    /// Records a problem at `mark`.
    pub(crate) fn problem(&mut self, mark: Mark, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            line: mark.line,
            column: mark.col,
            message: message.into(),
        });
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed` and that every
    /// key of `required` is present. Returns false when `node` is not a mapping.
    pub(crate) fn check_map(
        &mut self,
        node: &Node,
        what: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> bool {
        let Value::Map(entries) = &node.value else {
            self.problem(
                node.mark,
                format!("{what} must be a mapping, found {}", node.kind()),
            );
            return false;
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Some(name) = key.scalar() else {
                self.problem(key.mark, format!("{what}: keys must be plain names"));
                continue;
            };
            if seen.contains(&name) {
                self.problem(key.mark, format!("{what}: field {name:?} is given twice"));
            }
            seen.push(name);
            if !allowed.contains(&name) {
                let hint = closest(name, allowed)
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_else(|| format!("; allowed: {}", allowed.join(", ")));
                self.problem(key.mark, format!("{what}: unknown field {name:?}{hint}"));
            }
        }
        for req in required {
            if !seen.contains(req) {
                self.problem(node.mark, format!("{what}: missing required field {req:?}"));
            }
        }
        true
    }

    /// A string field; problems for non-scalars.
    pub(crate) fn string(&mut self, map: &Node, key: &str, what: &str) -> Option<(String, Mark)> {
        let node = map.get(key)?;
        if node.is_null() {
            return None;
        }
        match node.scalar() {
            Some(text) => Some((text.to_string(), node.mark)),
            None => {
                self.problem(
                    node.mark,
                    format!("{what}: {key:?} must be a string, found {}", node.kind()),
                );
                None
            }
        }
    }

    /// A boolean field (`true`/`false`).
    pub(crate) fn boolean(&mut self, map: &Node, key: &str, what: &str) -> Option<bool> {
        let node = map.get(key)?;
        match &node.value {
            Value::Scalar { text, plain: true } if text == "true" || text == "false" => {
                Some(text == "true")
            }
            _ => {
                self.problem(node.mark, format!("{what}: {key:?} must be true or false"));
                None
            }
        }
    }

    /// A list of strings; also accepts a single string.
    pub(crate) fn strings(&mut self, map: &Node, key: &str, what: &str) -> Vec<(String, Mark)> {
        let Some(node) = map.get(key) else {
            return Vec::new();
        };
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| match item.scalar() {
                    Some(s) => Some((s.to_string(), item.mark)),
                    None => {
                        self.problem(item.mark, format!("{what}: {key:?} items must be strings"));
                        None
                    }
                })
                .collect(),
            Value::Scalar { text, .. } if node.is_null() || text.is_empty() => Vec::new(),
            Value::Scalar { text, .. } => vec![(text.clone(), node.mark)],
            Value::Map(_) => {
                self.problem(
                    node.mark,
                    format!("{what}: {key:?} must be a list of strings"),
                );
                Vec::new()
            }
        }
    }
}

/// The closest of `options` to `word`, when one is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    options
        .iter()
        .filter_map(|o| {
            let lower = o.to_lowercase();
            // A transposition or two in a short name, or a close match in a long one.
            let edits = strsim::damerau_levenshtein(&word, &lower);
            let near = edits <= 1 + word.chars().count() / 4;
            let similar = strsim::jaro_winkler(&word, &lower);
            (near || similar > 0.88).then_some((edits, *o))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions() -> Result<(), String> {
        let doc = parse("a: 1\nb:\n  c: [x, y]\n").map_err(|e| e.1)?;
        let b = doc.get("b").ok_or("no b")?;
        let c = b.get("c").ok_or("no c")?;
        assert_eq!((c.mark.line, c.mark.col), (3, 6));
        let a = doc.get("a").ok_or("no a")?;
        assert_eq!((a.mark.line, a.mark.col), (1, 4));
        Ok(())
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let Err((mark, _)) = parse("a: [1, 2\nb: 3\n") else {
            panic!("expected a syntax error");
        };
        assert!(mark.line >= 1);
    }
}
