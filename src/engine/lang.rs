//! Source languages for the code engine: the tree-sitter grammar, the node kinds that are
//! functions (looked up by id), the comment syntax, detection from a path, a shebang or the
//! content, and the one-cursor tree walk.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use tree_sitter::{Language, Node, Parser, Tree};

/// A language the code engine can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Rust,
    Go,
    Java,
    C,
    Cpp,
}

impl Lang {
    pub const ALL: [Lang; 9] = [
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Rust,
        Lang::Go,
        Lang::Java,
        Lang::C,
        Lang::Cpp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Rust => "rust",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
        }
    }

    pub fn grammar(self) -> Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    /// The line-comment prefix used for markers.
    pub fn comment(self) -> &'static str {
        match self {
            Lang::Python => "#",
            _ => "//",
        }
    }

    /// Node kinds that are functions or methods with a body.
    pub fn function_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["function_definition"],
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
                "function_declaration",
                "function_expression",
                "function",
                "generator_function_declaration",
                "generator_function",
                "arrow_function",
                "method_definition",
            ],
            Lang::Rust => &["function_item"],
            Lang::Go => &["function_declaration", "method_declaration", "func_literal"],
            Lang::Java => &["method_declaration", "constructor_declaration"],
            Lang::C | Lang::Cpp => &["function_definition"],
        }
    }

    /// Declarations whose doc comment is cut after its first line like a function's.
    pub fn declaration_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["class_definition"],
            Lang::JavaScript => &["class_declaration", "field_definition"],
            Lang::TypeScript | Lang::Tsx => &[
                "class_declaration",
                "abstract_class_declaration",
                "interface_declaration",
                "type_alias_declaration",
                "public_field_definition",
                "method_signature",
                "abstract_method_signature",
            ],
            Lang::Rust => &[
                "struct_item",
                "enum_item",
                "enum_variant",
                "trait_item",
                "impl_item",
                "type_item",
                "const_item",
                "static_item",
                "mod_item",
                "field_declaration",
                "function_signature_item",
                "macro_definition",
            ],
            Lang::Go => &["type_declaration", "const_declaration", "var_declaration"],
            Lang::Java => &["class_declaration", "interface_declaration", "enum_declaration", "field_declaration"],
            Lang::C | Lang::Cpp => {
                &["struct_specifier", "declaration", "type_definition", "class_specifier", "field_declaration"]
            }
        }
    }

    /// Node kinds that are calls; the callee is in field `function` (or `name`/`macro`).
    pub fn call_kinds(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["call"],
            Lang::Java => &["method_invocation", "object_creation_expression"],
            Lang::Rust => &["call_expression", "macro_invocation"],
            _ => &["call_expression", "new_expression"],
        }
    }

    /// The grammar's node kinds by id, flagged as this language's functions, declarations and
    /// identifiers; built once per language.
    pub fn kinds(self) -> &'static Kinds {
        static KINDS: [OnceLock<Kinds>; Lang::ALL.len()] = [const { OnceLock::new() }; Lang::ALL.len()];
        let index = Lang::ALL.iter().position(|l| *l == self).unwrap_or(0);
        KINDS[index].get_or_init(|| Kinds::of(self))
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["py", "pyi", "pyw"],
            Lang::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Lang::TypeScript => &["ts", "mts", "cts"],
            Lang::Tsx => &["tsx"],
            Lang::Rust => &["rs"],
            Lang::Go => &["go"],
            Lang::Java => &["java"],
            Lang::C => &["c", "h"],
            Lang::Cpp => &["cc", "cpp", "cxx", "hpp", "hh", "hxx", "c++", "ipp", "inl"],
        }
    }

    /// The extension syntect knows this language's syntax by (its default set has no TypeScript,
    /// so TypeScript is coloured as JavaScript; C++ headers as C++).
    pub fn syntax_ext(self) -> &'static str {
        match self {
            Lang::Python => "py",
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => "js",
            Lang::Rust => "rs",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
        }
    }

    /// The language of a file name, by extension.
    pub fn from_path(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.extensions().contains(&ext.as_str()))
    }

    fn from_shebang(text: &str) -> Option<Lang> {
        let first = text.lines().next()?.strip_prefix("#!")?;
        if first.contains("python") {
            Some(Lang::Python)
        } else if first.contains("node") || first.contains("deno") || first.contains("bun") {
            Some(Lang::JavaScript)
        } else {
            None
        }
    }

    /// Words whose presence points to the language (the prefilter before trial parses).
    fn hints(self) -> &'static [&'static str] {
        match self {
            Lang::Python => &["def ", "import ", "self.", "elif ", "    return", "__init__", ":\n"],
            Lang::JavaScript => &["function ", "const ", "=> ", "require(", "module.exports", "var ", "let "],
            Lang::TypeScript => &[": string", ": number", "interface ", "export type ", ": void", "readonly ", "<T>"],
            Lang::Tsx => &["</", "/>", "React", "className=", ": string", "props"],
            Lang::Rust => &["fn ", "let mut ", "impl ", "pub ", "::", "&self", "-> ", "match "],
            Lang::Go => &["func ", "package ", ":= ", "err != nil", "go ", "chan "],
            Lang::Java => &["public class ", "private ", "import java", "@Override", "new ", "void "],
            Lang::C => &["#include", "int ", "char *", "->", "NULL", "static ", "struct "],
            Lang::Cpp => &["std::", "::", "template", "#include", "namespace ", "nullptr", "class "],
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        Lang::ALL
            .into_iter()
            .find(|l| l.name() == s || l.extensions().contains(&s.as_str()))
            .ok_or_else(|| format!("unknown language `{s}`"))
    }
}

/// Parses `text` as `lang`.
pub fn parse(lang: Lang, text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&lang.grammar()).ok()?;
    parser.parse(text, None)
}

/// Parses `text`, an edit of the text `old` was parsed from, reusing every subtree of `old` the
/// edits did not touch (the edits must already be applied to `old` with `Tree::edit`).
pub fn reparse(lang: Lang, text: &str, old: &Tree) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&lang.grammar()).ok()?;
    parser.parse(text, Some(old))
}

/// Parses the lines `range` of `text` (starting a line, at row `row`), with the offsets and rows of
/// the whole text, reusing `old` (already edited with `Tree::edit`) when given: one half of a
/// text parsed on each core. The range must end at the end of a line or of the text.
pub fn parse_lines(
    lang: Lang,
    text: &str,
    range: std::ops::Range<usize>,
    row: usize,
    old: Option<&Tree>,
) -> Option<Tree> {
    let lines = &text.as_bytes()[range.clone()];
    let last = memchr::memrchr(b'\n', lines).map_or(0, |i| i + 1);
    let end_row = row + memchr::memchr_iter(b'\n', lines).count();
    let included = tree_sitter::Range {
        start_byte: range.start,
        end_byte: range.end,
        start_point: tree_sitter::Point { row, column: 0 },
        end_point: tree_sitter::Point { row: end_row, column: lines.len() - last },
    };
    let mut parser = Parser::new();
    parser.set_language(&lang.grammar()).ok()?;
    parser.set_included_ranges(&[included]).ok()?;
    parser.parse(text, old)
}

/// A language's node kinds looked up by id. `Node::kind` finds a kind's name and checks it as
/// UTF-8 on every call; a walk over every node asks several questions of each.
pub struct Kinds {
    flags: Vec<u8>,
}

impl Kinds {
    const IDENTIFIER: u8 = 1;
    const FUNCTION: u8 = 2;
    const DECLARATION: u8 = 4;
    const CALL: u8 = 8;

    fn of(lang: Lang) -> Kinds {
        let grammar = lang.grammar();
        let flags = (0..grammar.node_kind_count())
            .map(|id| {
                let Some(kind) = u16::try_from(id).ok().and_then(|id| grammar.node_kind_for_id(id)) else {
                    return 0;
                };
                let mut f = 0;
                if kind.contains("identifier") {
                    f |= Self::IDENTIFIER;
                }
                if lang.function_kinds().contains(&kind) {
                    f |= Self::FUNCTION;
                }
                if lang.declaration_kinds().contains(&kind) {
                    f |= Self::DECLARATION;
                }
                if lang.call_kinds().contains(&kind) {
                    f |= Self::CALL;
                }
                f
            })
            .collect();
        Kinds { flags }
    }

    fn has(&self, n: Node, flag: u8) -> bool {
        self.flags.get(usize::from(n.kind_id())).is_some_and(|f| f & flag != 0)
    }

    /// Whether the node's kind names an identifier of some sort (`identifier`, `type_identifier`…).
    pub fn is_identifier(&self, n: Node) -> bool {
        self.has(n, Self::IDENTIFIER)
    }

    /// Whether the node is one of [`Lang::function_kinds`].
    pub fn is_function(&self, n: Node) -> bool {
        self.has(n, Self::FUNCTION)
    }

    /// Whether the node is one of [`Lang::declaration_kinds`].
    pub fn is_declaration(&self, n: Node) -> bool {
        self.has(n, Self::DECLARATION)
    }

    /// Whether the node is one of [`Lang::call_kinds`].
    pub fn is_call(&self, n: Node) -> bool {
        self.has(n, Self::CALL)
    }
}

/// What a [`walk`] does after visiting a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Visit the node's children next.
    Into,
    /// Skip the node's children.
    Over,
    /// End the walk.
    Stop,
}

/// Visits `root` and its descendants in document order (each node before its children) with one
/// tree cursor: no cursor or vector per node, which is what a walk costs on large trees. The
/// visitor also gets the node's ancestors inside the walk (`root` first, the parent last): asking
/// tree-sitter for a parent searches down from the tree's root, so a question about parents per
/// node grows with the square of the nesting depth.
pub fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>, &[Node<'t>]) -> Step) {
    let mut cursor = root.walk();
    let mut up: Vec<Node<'t>> = Vec::new();
    loop {
        let node = cursor.node();
        match visit(node, &up) {
            Step::Stop => return,
            Step::Into if cursor.goto_first_child() => {
                up.push(node);
                continue;
            }
            _ => {}
        }
        // the cursor was made at `root`, so it can neither leave it nor move to its siblings
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
            up.pop();
        }
    }
}

/// Number of ERROR and MISSING nodes in a tree.
pub fn error_count(root: Node) -> usize {
    let mut count = 0;
    walk(root, |node, _| {
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if node.has_error() { Step::Into } else { Step::Over }
    });
    count
}

/// How the language was found, for the decision record.
pub fn detect(text: &str, path: Option<&str>) -> Option<(Lang, String)> {
    if let Some(l) = path.and_then(Lang::from_path) {
        return Some((l, format!("{l} by file extension")));
    }
    if let Some(l) = Lang::from_shebang(text) {
        return Some((l, format!("{l} by shebang")));
    }
    // Trial-parse the head with the languages whose words appear, fewest errors wins, ties to the
    // one with more hint words.
    let mut end = text.len().min(10_000);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let mut best: Option<(usize, usize, Lang)> = None;
    for l in Lang::ALL {
        let hits = l.hints().iter().filter(|h| head.contains(*h)).count();
        if hits < 2 {
            continue;
        }
        let Some(tree) = parse(l, head) else { continue };
        let errors = error_count(tree.root_node());
        let better = match best {
            None => true,
            Some((e, h, _)) => errors < e || (errors == e && hits > h),
        };
        if better {
            best = Some((errors, hits, l));
        }
    }
    let (errors, _, l) = best?;
    let lines = head.lines().count().max(1);
    (errors * 10 <= lines)
        .then(|| (l, format!("{l} by trial parse ({errors} syntax errors in the first {lines} lines)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_stays_inside_its_node_in_document_order_and_honours_over_and_stop() {
        let src = "def a():\n    x = 1\n    def inner():\n        pass\n\ndef b():\n    y = 2\n";
        let tree = parse(Lang::Python, src).expect("parses");
        let root = tree.root_node();
        let first = root.named_child(0).expect("def a");
        let mut names = Vec::new();
        walk(first, |n, up| {
            if n.kind() == "identifier" {
                names.push(&src[n.byte_range()]);
            }
            // the ancestors inside the walk are tree-sitter's parents, nearest last
            let parents: Vec<usize> = std::iter::successors(n.parent(), |p| p.parent()).map(|p| p.id()).collect();
            let within = parents.iter().position(|id| *id == first.id()).map_or(0, |i| i + 1);
            let ups: Vec<usize> = up.iter().rev().map(|p| p.id()).collect();
            assert_eq!(ups, parents[..if n.id() == first.id() { 0 } else { within }]);
            Step::Into
        });
        // `b` and `y` are in the next definition: a walk of `a` never reaches them
        assert_eq!(names, ["a", "x", "inner"]);

        let mut seen = Vec::new();
        walk(root, |n, _| {
            if n.kind() == "identifier" {
                seen.push(&src[n.byte_range()]);
            }
            match n.kind() {
                "block" if seen.len() == 1 => Step::Over,
                "identifier" if seen.len() == 3 => Step::Stop,
                _ => Step::Into,
            }
        });
        assert_eq!(seen, ["a", "b", "y"], "a's body skipped, and nothing after the stop");

        let kinds = Lang::Python.kinds();
        assert!(kinds.is_function(first) && !kinds.is_declaration(first) && !kinds.is_identifier(first));
        assert!(kinds.is_identifier(first.child_by_field_name("name").expect("name")));
    }

    #[test]
    fn every_grammar_loads() {
        for l in Lang::ALL {
            let mut p = Parser::new();
            p.set_language(&l.grammar()).unwrap_or_else(|e| panic!("{l}: {e}"));
        }
    }

    #[test]
    fn detects_by_path_shebang_and_content() {
        assert_eq!(detect("", Some("src/a.tsx")).unwrap().0, Lang::Tsx);
        assert_eq!(detect("#!/usr/bin/env python3\nprint(1)\n", None).unwrap().0, Lang::Python);
        let rs = "use std::fmt;\n\npub fn main() {\n    let mut x = 1;\n    x += 1;\n}\n";
        assert_eq!(detect(rs, None).unwrap().0, Lang::Rust);
        let go = "package main\n\nfunc main() {\n\tx := 1\n\tif err != nil {\n\t}\n}\n";
        assert_eq!(detect(go, None).unwrap().0, Lang::Go);
        let py = "import os\n\ndef f(x):\n    return x\n";
        assert_eq!(detect(py, None).unwrap().0, Lang::Python);
        assert!(detect("just some words here\n", None).is_none());
    }
}
