//! Just enough GraphQL for Shopify's Admin API: a parser for executable documents (operations,
//! variables, aliases, arguments, inline fragments, named fragments) and a small executor in
//! which each object type is a closure that answers its fields. Unknown fields fail validation
//! the way Shopify reports them, so a client asking for a field that does not exist finds out
//! here rather than in production.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

#[derive(Clone, Debug)]
pub(crate) struct GqlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub path: Vec<String>,
    pub extensions: Option<Value>,
}

impl GqlError {
    pub fn to_json(&self) -> Value {
        let mut e = json!({
            "message": self.message,
            "locations": [{ "line": self.line, "column": self.column }],
        });
        if !self.path.is_empty() {
            e["path"] = json!(self.path);
        }
        if let Some(ext) = &self.extensions {
            e["extensions"] = ext.clone();
        }
        e
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    End,
}

#[derive(Clone, Debug)]
struct Spanned {
    tok: Tok,
    line: usize,
    column: usize,
}

fn lex(src: &str) -> Result<Vec<Spanned>, GqlError> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut out = Vec::new();
    let err = |message: String, line, column| GqlError {
        message,
        line,
        column,
        path: Vec::new(),
        extensions: None,
    };
    while i < chars.len() {
        let c = chars[i];
        let (l, cl) = (line, col);
        match c {
            '\n' => {
                line += 1;
                col = 1;
                i += 1;
            }
            ' ' | '\t' | '\r' | ',' | '\u{feff}' => {
                i += 1;
                col += 1;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '{' | '}' | '(' | ')' | ':' | '$' | '@' | '[' | ']' | '=' | '!' | '|' | '&' => {
                out.push(Spanned {
                    tok: Tok::Punct(c),
                    line: l,
                    column: cl,
                });
                i += 1;
                col += 1;
            }
            '.' => {
                if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                    out.push(Spanned {
                        tok: Tok::Spread,
                        line: l,
                        column: cl,
                    });
                    i += 3;
                    col += 3;
                } else {
                    return Err(err(format!("Parse error on \".\" at [{l}, {cl}]"), l, cl));
                }
            }
            '"' => {
                let block = chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"');
                let mut s = String::new();
                if block {
                    i += 3;
                    col += 3;
                    loop {
                        if i >= chars.len() {
                            return Err(err("Unterminated string".into(), l, cl));
                        }
                        if chars[i] == '"'
                            && chars.get(i + 1) == Some(&'"')
                            && chars.get(i + 2) == Some(&'"')
                        {
                            i += 3;
                            col += 3;
                            break;
                        }
                        if chars[i] == '\n' {
                            line += 1;
                            col = 1;
                        } else {
                            col += 1;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                    out.push(Spanned {
                        tok: Tok::Str(s.trim().to_owned()),
                        line: l,
                        column: cl,
                    });
                } else {
                    i += 1;
                    col += 1;
                    loop {
                        let Some(&ch) = chars.get(i) else {
                            return Err(err("Unterminated string".into(), l, cl));
                        };
                        i += 1;
                        col += 1;
                        match ch {
                            '"' => break,
                            '\n' => return Err(err("Unterminated string".into(), l, cl)),
                            '\\' => {
                                let Some(&esc) = chars.get(i) else {
                                    return Err(err("Unterminated string".into(), l, cl));
                                };
                                i += 1;
                                col += 1;
                                match esc {
                                    'n' => s.push('\n'),
                                    't' => s.push('\t'),
                                    'r' => s.push('\r'),
                                    'b' => s.push('\u{8}'),
                                    'f' => s.push('\u{c}'),
                                    'u' => {
                                        let hex: String = chars.iter().skip(i).take(4).collect();
                                        let code = u32::from_str_radix(&hex, 16)
                                            .ok()
                                            .and_then(char::from_u32)
                                            .ok_or_else(|| {
                                                err("Bad unicode escape".into(), l, cl)
                                            })?;
                                        s.push(code);
                                        i += 4;
                                        col += 4;
                                    }
                                    other => s.push(other),
                                }
                            }
                            other => s.push(other),
                        }
                    }
                    out.push(Spanned {
                        tok: Tok::Str(s),
                        line: l,
                        column: cl,
                    });
                }
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || matches!(chars[i], '.' | 'e' | 'E' | '+' | '-'))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                col += i - start;
                let tok = if text.contains(['.', 'e', 'E']) {
                    Tok::Float(
                        text.parse()
                            .map_err(|_| err(format!("Bad number {text}"), l, cl))?,
                    )
                } else {
                    Tok::Int(
                        text.parse()
                            .map_err(|_| err(format!("Bad number {text}"), l, cl))?,
                    )
                };
                out.push(Spanned {
                    tok,
                    line: l,
                    column: cl,
                });
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                col += i - start;
                out.push(Spanned {
                    tok: Tok::Name(chars[start..i].iter().collect()),
                    line: l,
                    column: cl,
                });
            }
            other => {
                return Err(err(
                    format!("Parse error on \"{other}\" at [{l}, {cl}]"),
                    l,
                    cl,
                ));
            }
        }
    }
    out.push(Spanned {
        tok: Tok::End,
        line,
        column: col,
    });
    Ok(out)
}

#[derive(Clone, Debug)]
pub(crate) enum GValue {
    Var(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
    Enum(String),
    List(Vec<GValue>),
    Object(Vec<(String, GValue)>),
}

#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub args: Vec<(String, GValue)>,
    pub selection: Vec<Selection>,
    pub line: usize,
    pub column: usize,
}

impl Field {
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Selection {
    Field(Field),
    Inline {
        on: Option<String>,
        selection: Vec<Selection>,
    },
    Spread(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Query,
    Mutation,
    Subscription,
}

#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub kind: OpKind,
    pub name: Option<String>,
    pub defaults: Vec<(String, Option<GValue>)>,
    pub selection: Vec<Selection>,
}

#[derive(Clone, Debug)]
struct Fragment {
    on: String,
    selection: Vec<Selection>,
}

#[derive(Clone, Debug)]
pub(crate) struct Document {
    pub operations: Vec<Operation>,
    fragments: HashMap<String, Fragment>,
}

impl Document {
    /// Calls `f` on every field of every operation and fragment, outermost first (a bulk
    /// operation rewrites the pagination arguments of the query it runs).
    pub fn fields_mut(&mut self, f: &mut dyn FnMut(&mut Field)) {
        fn walk(selection: &mut [Selection], f: &mut dyn FnMut(&mut Field)) {
            for s in selection {
                match s {
                    Selection::Field(field) => {
                        f(field);
                        walk(&mut field.selection, f);
                    }
                    Selection::Inline { selection, .. } => walk(selection, f),
                    Selection::Spread(_) => {}
                }
            }
        }
        for op in &mut self.operations {
            walk(&mut op.selection, f);
        }
        for frag in self.fragments.values_mut() {
            walk(&mut frag.selection, f);
        }
    }

    /// The fields of `selection` whatever type they apply to, fragments flattened.
    pub fn all_fields<'d>(&'d self, selection: &'d [Selection]) -> Vec<&'d Field> {
        fn walk<'d>(doc: &'d Document, selection: &'d [Selection], out: &mut Vec<&'d Field>) {
            for s in selection {
                match s {
                    Selection::Field(f) => out.push(f),
                    Selection::Inline { selection, .. } => walk(doc, selection, out),
                    Selection::Spread(name) => {
                        if let Some(frag) = doc.fragments.get(name) {
                            walk(doc, &frag.selection, out);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, selection, &mut out);
        out
    }
}

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Spanned {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Spanned {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> GqlError {
        let t = self.peek();
        let shown = match &t.tok {
            Tok::Punct(c) => c.to_string(),
            Tok::Spread => "...".into(),
            Tok::Name(n) => n.clone(),
            Tok::Int(i) => i.to_string(),
            Tok::Float(f) => f.to_string(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::End => "end of file".into(),
        };
        GqlError {
            message: format!("Parse error on \"{shown}\" at [{}, {}]", t.line, t.column),
            line: t.line,
            column: t.column,
            path: Vec::new(),
            extensions: None,
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek().tok == Tok::Punct(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), GqlError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<String, GqlError> {
        match &self.peek().tok {
            Tok::Name(n) => {
                let n = n.clone();
                self.bump();
                Ok(n)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn document(&mut self) -> Result<Document, GqlError> {
        let mut operations = Vec::new();
        let mut fragments = HashMap::new();
        loop {
            match self.peek().tok.clone() {
                Tok::End => break,
                Tok::Punct('{') => operations.push(Operation {
                    kind: OpKind::Query,
                    name: None,
                    defaults: Vec::new(),
                    selection: self.selection_set()?,
                }),
                Tok::Name(word) if word == "fragment" => {
                    self.bump();
                    let name = self.name()?;
                    if self.name()? != "on" {
                        return Err(self.unexpected());
                    }
                    let on = self.name()?;
                    self.directives()?;
                    let selection = self.selection_set()?;
                    fragments.insert(name, Fragment { on, selection });
                }
                Tok::Name(word)
                    if matches!(word.as_str(), "query" | "mutation" | "subscription") =>
                {
                    self.bump();
                    let kind = match word.as_str() {
                        "mutation" => OpKind::Mutation,
                        "subscription" => OpKind::Subscription,
                        _ => OpKind::Query,
                    };
                    let name = match &self.peek().tok {
                        Tok::Name(_) => Some(self.name()?),
                        _ => None,
                    };
                    let mut defaults = Vec::new();
                    if self.eat('(') {
                        while !self.eat(')') {
                            self.expect('$')?;
                            let var = self.name()?;
                            self.expect(':')?;
                            self.type_ref()?;
                            let default = if self.eat('=') {
                                Some(self.value()?)
                            } else {
                                None
                            };
                            self.directives()?;
                            defaults.push((var, default));
                        }
                    }
                    self.directives()?;
                    let selection = self.selection_set()?;
                    operations.push(Operation {
                        kind,
                        name,
                        defaults,
                        selection,
                    });
                }
                _ => return Err(self.unexpected()),
            }
        }
        if operations.is_empty() {
            return Err(GqlError {
                message: "No operations in query document".into(),
                line: 1,
                column: 1,
                path: Vec::new(),
                extensions: None,
            });
        }
        Ok(Document {
            operations,
            fragments,
        })
    }

    fn type_ref(&mut self) -> Result<(), GqlError> {
        if self.eat('[') {
            self.type_ref()?;
            self.expect(']')?;
        } else {
            self.name()?;
        }
        self.eat('!');
        Ok(())
    }

    fn directives(&mut self) -> Result<(), GqlError> {
        while self.eat('@') {
            self.name()?;
            if self.eat('(') {
                while !self.eat(')') {
                    self.name()?;
                    self.expect(':')?;
                    self.value()?;
                }
            }
        }
        Ok(())
    }

    fn selection_set(&mut self) -> Result<Vec<Selection>, GqlError> {
        self.expect('{')?;
        let mut out = Vec::new();
        while !self.eat('}') {
            if self.peek().tok == Tok::Spread {
                self.bump();
                match self.peek().tok.clone() {
                    Tok::Name(n) if n == "on" => {
                        self.bump();
                        let on = Some(self.name()?);
                        self.directives()?;
                        out.push(Selection::Inline {
                            on,
                            selection: self.selection_set()?,
                        });
                    }
                    Tok::Name(_) => {
                        let name = self.name()?;
                        self.directives()?;
                        out.push(Selection::Spread(name));
                    }
                    _ => {
                        self.directives()?;
                        out.push(Selection::Inline {
                            on: None,
                            selection: self.selection_set()?,
                        });
                    }
                }
                continue;
            }
            let at = self.peek().clone();
            let first = self.name()?;
            let (alias, name) = if self.eat(':') {
                (Some(first), self.name()?)
            } else {
                (None, first)
            };
            let mut args = Vec::new();
            if self.eat('(') {
                while !self.eat(')') {
                    let arg = self.name()?;
                    self.expect(':')?;
                    args.push((arg, self.value()?));
                }
            }
            self.directives()?;
            let selection = if self.peek().tok == Tok::Punct('{') {
                self.selection_set()?
            } else {
                Vec::new()
            };
            out.push(Selection::Field(Field {
                alias,
                name,
                args,
                selection,
                line: at.line,
                column: at.column,
            }));
        }
        Ok(out)
    }

    fn value(&mut self) -> Result<GValue, GqlError> {
        let t = self.bump();
        Ok(match t.tok {
            Tok::Punct('$') => GValue::Var(self.name()?),
            Tok::Int(i) => GValue::Int(i),
            Tok::Float(f) => GValue::Float(f),
            Tok::Str(s) => GValue::Str(s),
            Tok::Name(n) => match n.as_str() {
                "true" => GValue::Bool(true),
                "false" => GValue::Bool(false),
                "null" => GValue::Null,
                _ => GValue::Enum(n),
            },
            Tok::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.value()?);
                }
                GValue::List(items)
            }
            Tok::Punct('{') => {
                let mut fields = Vec::new();
                while !self.eat('}') {
                    let k = self.name()?;
                    self.expect(':')?;
                    fields.push((k, self.value()?));
                }
                GValue::Object(fields)
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.unexpected());
            }
        })
    }
}

pub(crate) fn parse(src: &str) -> Result<Document, GqlError> {
    let toks = lex(src)?;
    Parser { toks, pos: 0 }.document()
}

/// Answers one field of an object: `Ok(None)` when the type has no such field.
pub(crate) type Resolver<'r, 'a> =
    dyn FnMut(&mut Exec<'a>, &'a Field, &[String]) -> Result<Option<Value>, GqlError> + 'r;

/// One execution of one operation: variables resolved, fragments available.
pub(crate) struct Exec<'a> {
    doc: &'a Document,
    variables: Map<String, Value>,
    /// The number of fields resolved.
    pub fields_resolved: u64,
    /// Shopify's actual query cost so far: one point per object returned (connections, edges,
    /// page info and the root are free) plus two per connection, which its resolver adds.
    pub cost: u64,
}

impl<'a> Exec<'a> {
    /// Picks the operation (by name when there are several) and fills variable defaults.
    pub fn new(
        doc: &'a Document,
        operation_name: Option<&str>,
        variables: Map<String, Value>,
    ) -> Result<(Self, &'a Operation), GqlError> {
        let op = match operation_name {
            Some(name) => doc
                .operations
                .iter()
                .find(|o| o.name.as_deref() == Some(name)),
            None if doc.operations.len() == 1 => doc.operations.first(),
            None => None,
        }
        .ok_or_else(|| GqlError {
            message: match operation_name {
                Some(name) => format!("No operation named \"{name}\""),
                None => "An operation name is required".into(),
            },
            line: 1,
            column: 1,
            path: Vec::new(),
            extensions: None,
        })?;
        let mut vars = variables;
        let mut exec = Self {
            doc,
            variables: Map::new(),
            fields_resolved: 0,
            cost: 0,
        };
        for (name, default) in &op.defaults {
            if !vars.contains_key(name)
                && let Some(d) = default
            {
                let v = exec.value(d);
                vars.insert(name.clone(), v);
            }
        }
        exec.variables = vars;
        Ok((exec, op))
    }

    pub fn value(&self, v: &GValue) -> Value {
        match v {
            GValue::Var(name) => self.variables.get(name).cloned().unwrap_or(Value::Null),
            GValue::Int(i) => json!(i),
            GValue::Float(f) => json!(f),
            GValue::Str(s) | GValue::Enum(s) => json!(s),
            GValue::Bool(b) => json!(b),
            GValue::Null => Value::Null,
            GValue::List(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            GValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
        }
    }

    /// The fields of `selection` that apply to `type_name`, fragments flattened, in order.
    fn fields(&self, type_name: &str, selection: &'a [Selection], out: &mut Vec<&'a Field>) {
        for s in selection {
            match s {
                Selection::Field(f) => out.push(f),
                Selection::Inline { on, selection } => {
                    if on.as_deref().is_none_or(|t| t == type_name) {
                        self.fields(type_name, selection, out);
                    }
                }
                Selection::Spread(name) => {
                    if let Some(frag) = self.doc.fragments.get(name)
                        && frag.on == type_name
                    {
                        self.fields(type_name, &frag.selection, out);
                    }
                }
            }
        }
    }

    /// Answers `selection` on an object of `type_name`; `resolve` answers one field, returning
    /// `None` for a field the type does not have.
    pub fn object(
        &mut self,
        type_name: &str,
        selection: &'a [Selection],
        path: &[String],
        resolve: &mut Resolver<'_, 'a>,
    ) -> Result<Value, GqlError> {
        let mut fields = Vec::new();
        self.fields(type_name, selection, &mut fields);
        if !is_free_type(type_name) {
            self.cost += 1;
        }
        let mut out = Map::new();
        for f in fields {
            let mut here = path.to_vec();
            here.push(f.key().to_owned());
            self.fields_resolved += 1;
            let value = if f.name == "__typename" {
                Some(json!(type_name))
            } else {
                resolve(self, f, &here)?
            };
            match value {
                Some(v) => {
                    out.insert(f.key().to_owned(), v);
                }
                None => {
                    return Err(GqlError {
                        message: format!("Field '{}' doesn't exist on type '{type_name}'", f.name),
                        line: f.line,
                        column: f.column,
                        path: here,
                        extensions: Some(json!({
                            "code": "undefinedField",
                            "typeName": type_name,
                            "fieldName": f.name,
                        })),
                    });
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// Every field of `selection` whatever type it applies to, for cost estimates made before
    /// execution (an inline fragment on a type that never appears is still counted, as Shopify
    /// counts the worst case).
    fn all_fields(&self, selection: &'a [Selection], out: &mut Vec<&'a Field>) {
        for s in selection {
            match s {
                Selection::Field(f) => out.push(f),
                Selection::Inline { selection, .. } => self.all_fields(selection, out),
                Selection::Spread(name) => {
                    if let Some(frag) = self.doc.fragments.get(name) {
                        self.all_fields(&frag.selection, out);
                    }
                }
            }
        }
    }

    /// The value of argument `name`, variables resolved.
    pub fn arg(&self, field: &Field, name: &str) -> Option<Value> {
        field
            .args
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| self.value(v))
            .filter(|v| !v.is_null())
    }

    /// Shopify's requested query cost of `selection`: scalars are free, an object costs one
    /// point, a connection two plus `first` (or `last`) times the cost of one node.
    pub fn requested_cost(&self, selection: &'a [Selection]) -> u64 {
        let mut fields = Vec::new();
        self.all_fields(selection, &mut fields);
        fields
            .into_iter()
            .map(|f| {
                if f.selection.is_empty() {
                    return 0;
                }
                let size = self
                    .arg(f, "first")
                    .or_else(|| self.arg(f, "last"))
                    .and_then(|v| v.as_u64());
                match size {
                    Some(n) => 2u64.saturating_add(n.saturating_mul(self.node_cost(&f.selection))),
                    None => 1u64.saturating_add(self.requested_cost(&f.selection)),
                }
            })
            .fold(0u64, u64::saturating_add)
    }

    /// The cost of one node of a connection whose selection is `selection`.
    fn node_cost(&self, selection: &'a [Selection]) -> u64 {
        let mut fields = Vec::new();
        self.all_fields(selection, &mut fields);
        let mut cost = 0;
        for f in fields {
            let one = match f.name.as_str() {
                "nodes" => 1 + self.requested_cost(&f.selection),
                "edges" => {
                    let mut inner = Vec::new();
                    self.all_fields(&f.selection, &mut inner);
                    inner
                        .into_iter()
                        .filter(|g| g.name == "node")
                        .map(|g| 1 + self.requested_cost(&g.selection))
                        .max()
                        .unwrap_or(0)
                }
                _ => 0,
            };
            cost = cost.max(one);
        }
        cost
    }

    /// A field that takes no arguments must not be given any.
    pub fn no_arguments(&self, field: &Field, path: &[String]) -> Result<(), GqlError> {
        match field.args.first() {
            None => Ok(()),
            Some((name, _)) => Err(GqlError {
                message: format!("Field '{}' doesn't accept argument '{name}'", field.name),
                line: field.line,
                column: field.column,
                path: path.to_vec(),
                extensions: Some(json!({
                    "code": "argumentNotAccepted",
                    "name": field.name,
                    "typeName": "Field",
                    "argumentName": name,
                })),
            }),
        }
    }

    /// A field of a scalar type without arguments must not have a selection set.
    pub fn scalar(
        &self,
        field: &Field,
        path: &[String],
        value: Value,
    ) -> Result<Option<Value>, GqlError> {
        self.no_arguments(field, path)?;
        if field.selection.is_empty() {
            Ok(Some(value))
        } else {
            Err(GqlError {
                message: format!(
                    "Selections can't be made on scalars (field '{}' returns a scalar but has selections)",
                    field.name
                ),
                line: field.line,
                column: field.column,
                path: path.to_vec(),
                extensions: Some(
                    json!({ "code": "selectionMismatch", "nodeName": format!("field '{}'", field.name) }),
                ),
            })
        }
    }

    /// A field of an object type must have a selection set.
    pub fn needs_selection(
        &self,
        field: &Field,
        path: &[String],
        type_name: &str,
    ) -> Result<(), GqlError> {
        if field.selection.is_empty() {
            Err(GqlError {
                message: format!(
                    "Field must have selections (field '{}' returns {type_name} but has no selections. Did you mean '{} {{ ... }}'?)",
                    field.name, field.name
                ),
                line: field.line,
                column: field.column,
                path: path.to_vec(),
                extensions: Some(
                    json!({ "code": "selectionMismatch", "nodeName": format!("field '{}'", field.name), "typeName": type_name }),
                ),
            })
        } else {
            Ok(())
        }
    }
}

/// Types that cost nothing in Shopify's calculation.
fn is_free_type(type_name: &str) -> bool {
    matches!(
        type_name,
        "QueryRoot" | "Mutation" | "Subscription" | "PageInfo" | "Count"
    ) || type_name.ends_with("Connection")
        || type_name.ends_with("Edge")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_with_variables_aliases_and_fragments_parses_and_resolves() {
        let doc = parse(
            r#"query Shop($n: Int = 3) { s: shop { name ...F ... on Shop { id } } }
               fragment F on Shop { email }"#,
        )
        .unwrap();
        let (mut exec, op) = Exec::new(&doc, None, Map::new()).unwrap();
        let root = exec
            .object("QueryRoot", &op.selection, &[], &mut |exec, f, path| {
                assert_eq!(f.name, "shop");
                exec.needs_selection(f, path, "Shop")?;
                let v = exec.object("Shop", &f.selection, path, &mut |exec, f, path| {
                    let v = match f.name.as_str() {
                        "name" => json!("Demo"),
                        "email" => json!("a@b.example"),
                        "id" => json!("gid://shopify/Shop/1"),
                        _ => return Ok(None),
                    };
                    exec.scalar(f, path, v)
                })?;
                Ok(Some(v))
            })
            .unwrap();
        assert_eq!(
            root,
            json!({"s": {"name": "Demo", "email": "a@b.example", "id": "gid://shopify/Shop/1"}})
        );
        assert_eq!(exec.value(&GValue::Var("n".into())), json!(3));
    }

    #[test]
    fn a_broken_query_reports_where_it_broke() {
        let e = parse("{ shop { name }").unwrap_err();
        assert!(
            e.message.starts_with("Parse error on \"end of file\""),
            "{}",
            e.message
        );
    }
}
