//! A small shell parser for policy checks: it turns a command string into pipelines of simple
//! commands (words, assignments, redirections), then flattens it into the [`Invocation`]s that
//! would actually run once wrappers (`sudo`, `env`, `xargs`, `bash -c`, `eval`, `find -exec`, …)
//! are unwrapped.
//!
//! It never fails: a policy must judge whatever an agent sends, so unbalanced quotes or parens
//! are read as if closed at the end of the input. It does not expand variables, globs or `~`:
//! words keep their literal text (quotes removed), so `"$HOME"` stays `$HOME` and `*` stays `*`.

/// How deep scripts inside scripts (`bash -c "eval '…'"`) are followed; deeper ones are ignored.
const MAX_DEPTH: usize = 16;

/// How deep nested groups and substitutions are parsed (bounds recursion on hostile input).
const MAX_GROUP_DEPTH: usize = 64;

/// A parsed script: pipelines separated by `;`, `&&`, `||`, `&` or newlines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// The pipelines in source order.
    pub pipelines: Vec<Pipeline>,
}

/// Commands joined by `|` or `|&`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline {
    /// The commands, left to right.
    pub commands: Vec<Command>,
}

/// One element of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Words, assignments and redirections.
    Simple(SimpleCommand),
    /// A subshell `( … )` or a brace group `{ …; }`, with redirections applying to all of it.
    Group {
        /// The grouped script.
        body: Script,
        /// Redirections after the closing paren or brace.
        redirects: Vec<Redirect>,
    },
    /// A function definition `name() body` or `function name { … }`.
    Function {
        /// The function's name.
        name: String,
        /// Its body.
        body: Box<Command>,
    },
}

/// A simple command: `A=b cmd arg > file`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimpleCommand {
    /// Leading `NAME=value` assignments.
    pub assignments: Vec<Word>,
    /// The command name and its arguments.
    pub words: Vec<Word>,
    /// Its redirections.
    pub redirects: Vec<Redirect>,
}

/// A word with quotes and escapes removed, and the command substitutions found inside it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Word {
    /// The literal text (substitutions keep their source text, e.g. `$(pwd)`).
    pub text: String,
    /// Scripts run by `$( … )`, backticks and `<( … )` inside the word.
    pub substitutions: Vec<Script>,
}

/// A redirection and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    /// What the redirection does.
    pub kind: RedirectKind,
    /// The file (or fd, or here-document delimiter).
    pub target: Word,
}

/// The kinds of redirection.
#[derive(Debug, Clone, PartialEq)]
pub enum RedirectKind {
    /// `>`, `>|`, `&>`, `2>`, `>& file`: truncates and writes a file.
    Write,
    /// `>>`, `&>>`, `2>>`: appends to a file.
    Append,
    /// `<`: reads a file.
    Read,
    /// `<>`: opens a file for reading and writing.
    ReadWrite,
    /// `>&N`, `<&N`, `>&-`: duplicates or closes a descriptor; no file involved.
    Dup,
    /// `<<DELIM` / `<<-DELIM` with the document's text.
    HereDoc {
        /// The lines between the redirection and the delimiter.
        body: String,
    },
    /// `<<< word`.
    HereString,
}

impl RedirectKind {
    /// True when the redirection writes the file named by its target.
    pub fn writes_file(&self) -> bool {
        matches!(self, Self::Write | Self::Append | Self::ReadWrite)
    }
}

/// Parses `src`. Never fails (see the module doc).
pub fn parse(src: &str) -> Script {
    Parser::new(src, 0).parse_all()
}

// ---------------------------------------------------------------------------------------------
// Lexer + parser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(Word),
    /// `;`, `;;`, `&`, `&&`, `||` and newlines: all just separate pipelines for our purposes.
    Separator,
    Pipe,
    LParen,
    RParen,
    Redirect(RedirectOp),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RedirectOp {
    Write,
    Append,
    Read,
    ReadWrite,
    /// `>&` / `<&`: a dup when the target is a number or `-`, else (for `>&`) a write.
    DupOut,
    DupIn,
    HereDoc {
        strip_tabs: bool,
    },
    HereString,
}

/// Where a list ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Eof,
    Paren,
    Brace,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    /// Commands being parsed inside one another (groups, function bodies).
    nesting: usize,
    peeked: Option<Token>,
    /// Where the next here-document body starts, and where parsing resumes after the bodies
    /// of the current line (set once a `<<` has been read on it).
    heredoc_next: Option<usize>,
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "esac",
];

impl Parser {
    fn new(src: &str, depth: usize) -> Self {
        Self {
            chars: src.chars().collect(),
            pos: 0,
            depth,
            nesting: 0,
            peeked: None,
            heredoc_next: None,
        }
    }

    fn parse_all(&mut self) -> Script {
        self.parse_list(End::Eof)
    }

    fn peek_char(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn char_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn peek(&mut self) -> &Token {
        if self.peeked.is_none() {
            let token = self.lex();
            self.peeked = Some(token);
        }
        self.peeked.as_ref().unwrap_or(&Token::Eof)
    }

    fn next(&mut self) -> Token {
        match self.peeked.take() {
            Some(token) => token,
            None => self.lex(),
        }
    }

    fn parse_list(&mut self, end: End) -> Script {
        let mut script = Script::default();
        loop {
            match self.peek() {
                Token::Eof => break,
                Token::RParen => {
                    self.next();
                    if end == End::Paren {
                        break;
                    }
                    // A stray `)` (e.g. a `case` pattern): skip it rather than give up.
                }
                Token::Separator | Token::Pipe => {
                    self.next();
                }
                Token::Word(w) if end == End::Brace && w.text == "}" => {
                    self.next();
                    break;
                }
                _ => {
                    let pipeline = self.parse_pipeline(end);
                    if !pipeline.commands.is_empty() {
                        script.pipelines.push(pipeline);
                    }
                }
            }
        }
        script
    }

    fn parse_pipeline(&mut self, end: End) -> Pipeline {
        let mut pipeline = Pipeline::default();
        loop {
            if let Some(command) = self.parse_command(end) {
                pipeline.commands.push(command);
            }
            if matches!(self.peek(), Token::Pipe) {
                self.next();
                continue;
            }
            break;
        }
        pipeline
    }

    fn parse_command(&mut self, end: End) -> Option<Command> {
        if self.nesting >= MAX_GROUP_DEPTH {
            // Hostile nesting: drop one token so the caller keeps making progress.
            self.next();
            return None;
        }
        self.nesting += 1;
        let command = self.parse_command_inner(end);
        self.nesting -= 1;
        command
    }

    fn parse_command_inner(&mut self, end: End) -> Option<Command> {
        match self.peek().clone() {
            Token::LParen => {
                self.next();
                let body = self.parse_group(End::Paren);
                let redirects = self.parse_redirects();
                return Some(Command::Group { body, redirects });
            }
            Token::Word(w) if w.text == "{" => {
                self.next();
                let body = self.parse_group(End::Brace);
                let redirects = self.parse_redirects();
                return Some(Command::Group { body, redirects });
            }
            Token::Word(w) if w.text == "}" && end == End::Brace => return None,
            Token::Word(w) if RESERVED.contains(&w.text.as_str()) => {
                // `if`, `then`, `do`, `!`…: what follows is a command of its own.
                while matches!(self.peek(), Token::Word(w) if RESERVED.contains(&w.text.as_str())) {
                    self.next();
                }
                if matches!(self.peek(), Token::Word(w) if RESERVED.contains(&w.text.as_str()) || w.text == "function")
                {
                    return None;
                }
                return self.parse_command(end);
            }
            Token::Word(w) if w.text == "function" => {
                self.next();
                let name = match self.next() {
                    Token::Word(n) => n.text,
                    _ => return None,
                };
                if matches!(self.peek(), Token::LParen) {
                    self.next();
                    if matches!(self.peek(), Token::RParen) {
                        self.next();
                    }
                }
                let body = self.parse_command(end)?;
                return Some(Command::Function {
                    name,
                    body: Box::new(body),
                });
            }
            _ => {}
        }
        let mut cmd = SimpleCommand::default();
        loop {
            match self.peek().clone() {
                Token::Word(w) => {
                    if end == End::Brace && w.text == "}" && cmd.words.is_empty() {
                        break;
                    }
                    self.next();
                    if cmd.words.is_empty() && is_assignment(&w.text) {
                        cmd.assignments.push(w);
                    } else {
                        cmd.words.push(w);
                    }
                }
                Token::Redirect(op) => {
                    self.next();
                    let redirect = self.finish_redirect(op);
                    cmd.redirects.push(redirect);
                }
                Token::LParen if cmd.words.len() == 1 && cmd.assignments.is_empty() => {
                    // `name() body`: a function definition.
                    self.next();
                    if matches!(self.peek(), Token::RParen) {
                        self.next();
                    }
                    while matches!(self.peek(), Token::Separator) {
                        self.next();
                    }
                    let name = cmd.words.remove(0).text;
                    let body = self.parse_command(end)?;
                    return Some(Command::Function {
                        name,
                        body: Box::new(body),
                    });
                }
                _ => break,
            }
        }
        if cmd.words.is_empty() && cmd.assignments.is_empty() && cmd.redirects.is_empty() {
            None
        } else {
            Some(Command::Simple(cmd))
        }
    }

    fn parse_group(&mut self, end: End) -> Script {
        self.parse_list(end)
    }

    fn parse_redirects(&mut self) -> Vec<Redirect> {
        let mut redirects = Vec::new();
        while let Token::Redirect(op) = self.peek().clone() {
            self.next();
            redirects.push(self.finish_redirect(op));
        }
        redirects
    }

    fn finish_redirect(&mut self, op: RedirectOp) -> Redirect {
        let target = match self.peek() {
            Token::Word(_) => match self.next() {
                Token::Word(w) => w,
                _ => Word::default(),
            },
            _ => Word::default(),
        };
        let kind = match op {
            RedirectOp::Write => RedirectKind::Write,
            RedirectOp::Append => RedirectKind::Append,
            RedirectOp::Read => RedirectKind::Read,
            RedirectOp::ReadWrite => RedirectKind::ReadWrite,
            RedirectOp::DupOut | RedirectOp::DupIn => {
                let t = target.text.as_str();
                if t == "-" || (!t.is_empty() && t.chars().all(|c| c.is_ascii_digit())) {
                    RedirectKind::Dup
                } else if op == RedirectOp::DupOut {
                    RedirectKind::Write
                } else {
                    RedirectKind::Read
                }
            }
            RedirectOp::HereString => RedirectKind::HereString,
            RedirectOp::HereDoc { strip_tabs } => RedirectKind::HereDoc {
                body: self.read_heredoc(&target.text, strip_tabs),
            },
        };
        Redirect { kind, target }
    }

    /// Reads a here-document body: the lines after the current line (or after the previous
    /// body on this line) up to the delimiter. The lexer skips them when it reaches the newline.
    fn read_heredoc(&mut self, delim: &str, strip_tabs: bool) -> String {
        let start = match self.heredoc_next {
            Some(p) => p,
            None => {
                let mut p = self.pos;
                while p < self.chars.len() && self.chars[p] != '\n' {
                    p += 1;
                }
                p + 1
            }
        };
        let mut body = String::new();
        let mut p = start.min(self.chars.len());
        loop {
            if p >= self.chars.len() {
                break;
            }
            let line_end = (p..self.chars.len())
                .find(|&i| self.chars[i] == '\n')
                .unwrap_or(self.chars.len());
            let line: String = self.chars[p..line_end].iter().collect();
            p = (line_end + 1).min(self.chars.len());
            let cmp = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line.as_str()
            };
            if cmp == delim {
                break;
            }
            body.push_str(&line);
            body.push('\n');
        }
        self.heredoc_next = Some(p.max(start));
        body
    }

    // --- lexer ---------------------------------------------------------------------------

    fn lex(&mut self) -> Token {
        loop {
            match self.peek_char() {
                None => return Token::Eof,
                Some(' ' | '\t' | '\r') => self.pos += 1,
                Some('\\') if self.char_at(1) == Some('\n') => self.pos += 2,
                Some('#') => {
                    while let Some(c) = self.peek_char() {
                        if c == '\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                Some(_) => break,
            }
        }
        let Some(c) = self.peek_char() else {
            return Token::Eof;
        };
        let next = self.char_at(1);
        match c {
            '\n' => {
                self.pos += 1;
                if let Some(resume) = self.heredoc_next.take() {
                    self.pos = self.pos.max(resume);
                }
                Token::Separator
            }
            ';' => {
                self.pos += if next == Some(';') { 2 } else { 1 };
                Token::Separator
            }
            '&' => match next {
                Some('&') => {
                    self.pos += 2;
                    Token::Separator
                }
                Some('>') => {
                    self.pos += 2;
                    if self.peek_char() == Some('>') {
                        self.pos += 1;
                        Token::Redirect(RedirectOp::Append)
                    } else {
                        Token::Redirect(RedirectOp::Write)
                    }
                }
                _ => {
                    self.pos += 1;
                    Token::Separator
                }
            },
            '|' => match next {
                Some('|') => {
                    self.pos += 2;
                    Token::Separator
                }
                Some('&') => {
                    self.pos += 2;
                    Token::Pipe
                }
                _ => {
                    self.pos += 1;
                    Token::Pipe
                }
            },
            '(' => {
                self.pos += 1;
                Token::LParen
            }
            ')' => {
                self.pos += 1;
                Token::RParen
            }
            '<' | '>' if next == Some('(') => self.process_substitution(),
            '<' | '>' => self.redirect_op(),
            d if d.is_ascii_digit() => {
                // `2>file`: a descriptor number directly followed by a redirection operator.
                let mut p = self.pos;
                while self.chars.get(p).is_some_and(char::is_ascii_digit) {
                    p += 1;
                }
                if matches!(self.chars.get(p), Some('<' | '>')) {
                    self.pos = p;
                    self.redirect_op()
                } else {
                    Token::Word(self.read_word())
                }
            }
            _ => Token::Word(self.read_word()),
        }
    }

    fn redirect_op(&mut self) -> Token {
        let c = self.peek_char();
        let n1 = self.char_at(1);
        let n2 = self.char_at(2);
        let (op, len) = match (c, n1, n2) {
            (Some('>'), Some('>'), _) => (RedirectOp::Append, 2),
            (Some('>'), Some('|'), _) => (RedirectOp::Write, 2),
            (Some('>'), Some('&'), _) => (RedirectOp::DupOut, 2),
            (Some('>'), _, _) => (RedirectOp::Write, 1),
            (Some('<'), Some('<'), Some('<')) => (RedirectOp::HereString, 3),
            (Some('<'), Some('<'), Some('-')) => (RedirectOp::HereDoc { strip_tabs: true }, 3),
            (Some('<'), Some('<'), _) => (RedirectOp::HereDoc { strip_tabs: false }, 2),
            (Some('<'), Some('>'), _) => (RedirectOp::ReadWrite, 2),
            (Some('<'), Some('&'), _) => (RedirectOp::DupIn, 2),
            _ => (RedirectOp::Read, 1),
        };
        self.pos += len;
        Token::Redirect(op)
    }

    fn process_substitution(&mut self) -> Token {
        let start = self.pos;
        self.pos += 2;
        let script = self.parse_nested_paren();
        let text: String = self.chars[start..self.pos].iter().collect();
        Token::Word(Word {
            text,
            substitutions: vec![script],
        })
    }

    /// Parses up to the matching `)` (the opening one already consumed) with this parser.
    fn parse_nested_paren(&mut self) -> Script {
        if self.depth >= MAX_DEPTH {
            self.skip_balanced(')');
            return Script::default();
        }
        let saved = self.peeked.take();
        self.depth += 1;
        let script = self.parse_list(End::Paren);
        self.depth -= 1;
        self.peeked = saved;
        script
    }

    /// Skips to the matching `close`, counting nesting naively (used past `MAX_DEPTH`).
    fn skip_balanced(&mut self, close: char) {
        let open = if close == ')' { '(' } else { '{' };
        let mut level = 1usize;
        while let Some(c) = self.peek_char() {
            self.pos += 1;
            if c == open {
                level += 1;
            } else if c == close {
                level -= 1;
                if level == 0 {
                    break;
                }
            }
        }
    }

    fn read_word(&mut self) -> Word {
        let mut word = Word::default();
        while let Some(c) = self.peek_char() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\\' => {
                    self.pos += 1;
                    match self.peek_char() {
                        Some('\n') => self.pos += 1,
                        Some(e) => {
                            word.text.push(e);
                            self.pos += 1;
                        }
                        None => {}
                    }
                }
                '\'' => {
                    self.pos += 1;
                    while let Some(q) = self.peek_char() {
                        self.pos += 1;
                        if q == '\'' {
                            break;
                        }
                        word.text.push(q);
                    }
                }
                '"' => {
                    self.pos += 1;
                    self.read_double_quoted(&mut word);
                }
                '$' => self.read_dollar(&mut word),
                '`' => self.read_backticks(&mut word),
                _ => {
                    word.text.push(c);
                    self.pos += 1;
                }
            }
        }
        word
    }

    fn read_double_quoted(&mut self, word: &mut Word) {
        while let Some(c) = self.peek_char() {
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek_char() {
                        Some('\n') => self.pos += 1,
                        Some(e @ ('$' | '`' | '"' | '\\')) => {
                            word.text.push(e);
                            self.pos += 1;
                        }
                        Some(_) | None => word.text.push('\\'),
                    }
                }
                '$' => self.read_dollar(word),
                '`' => self.read_backticks(word),
                _ => {
                    word.text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `$'…'`, `$(( … ))`, `$( … )`, `${ … }` or a plain `$`.
    fn read_dollar(&mut self, word: &mut Word) {
        let start = self.pos;
        match (self.char_at(1), self.char_at(2)) {
            (Some('\''), _) => {
                self.pos += 2;
                self.read_ansi_c(word);
            }
            (Some('('), Some('(')) => {
                self.pos += 3;
                self.skip_balanced(')');
                if self.peek_char() == Some(')') {
                    self.pos += 1;
                }
                word.text.extend(&self.chars[start..self.pos]);
            }
            (Some('('), _) => {
                self.pos += 2;
                let script = self.parse_nested_paren();
                word.substitutions.push(script);
                word.text.extend(&self.chars[start..self.pos]);
            }
            (Some('{'), _) => {
                self.pos += 2;
                self.skip_balanced('}');
                word.text.extend(&self.chars[start..self.pos]);
            }
            _ => {
                word.text.push('$');
                self.pos += 1;
            }
        }
    }

    fn read_ansi_c(&mut self, word: &mut Word) {
        while let Some(c) = self.peek_char() {
            self.pos += 1;
            match c {
                '\'' => return,
                '\\' => {
                    let Some(e) = self.peek_char() else { return };
                    self.pos += 1;
                    match e {
                        'n' => word.text.push('\n'),
                        't' => word.text.push('\t'),
                        'r' => word.text.push('\r'),
                        '0' => word.text.push('\0'),
                        'x' => {
                            let mut value = 0u32;
                            let mut digits = 0;
                            while digits < 2 {
                                match self.peek_char().and_then(|h| h.to_digit(16)) {
                                    Some(d) => {
                                        value = value * 16 + d;
                                        self.pos += 1;
                                        digits += 1;
                                    }
                                    None => break,
                                }
                            }
                            if let Some(ch) = char::from_u32(value) {
                                word.text.push(ch);
                            }
                        }
                        other => word.text.push(other),
                    }
                }
                _ => word.text.push(c),
            }
        }
    }

    fn read_backticks(&mut self, word: &mut Word) {
        let start = self.pos;
        self.pos += 1;
        let mut inner = String::new();
        while let Some(c) = self.peek_char() {
            self.pos += 1;
            match c {
                '`' => break,
                '\\' => match self.peek_char() {
                    Some(e @ ('`' | '\\' | '$')) => {
                        inner.push(e);
                        self.pos += 1;
                    }
                    _ => inner.push('\\'),
                },
                _ => inner.push(c),
            }
        }
        if self.depth < MAX_DEPTH {
            word.substitutions
                .push(Parser::new(&inner, self.depth + 1).parse_all());
        }
        word.text.extend(&self.chars[start..self.pos]);
    }
}

fn is_assignment(text: &str) -> bool {
    let Some((name, _)) = text.split_once('=') else {
        return false;
    };
    let name = name.strip_suffix('+').unwrap_or(name);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ---------------------------------------------------------------------------------------------
// Flattening: what actually runs
// ---------------------------------------------------------------------------------------------

/// A command that would run, after wrappers are unwrapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The effective argv (`sudo -u x rm -rf /` gives `rm -rf /`). Arguments `xargs` would read
    /// from a recognisable producer (`echo`, `find`, `ls`) are appended.
    pub argv: Vec<String>,
    /// What the command reads on stdin when it is known: a here-document or here-string, or the
    /// output of an `echo`/`printf` piped into it.
    pub stdin: Option<String>,
    /// Which pipeline it belongs to (unique within an [`Analysis`]).
    pub pipeline: usize,
}

impl Invocation {
    /// The command's base name (`/usr/bin/rm` gives `rm`), or "" for an empty argv.
    pub fn name(&self) -> &str {
        self.argv.first().map(|a| basename(a)).unwrap_or("")
    }

    /// The arguments after the command name.
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// The argv shell-quoted back into one line, for messages.
    pub fn display(&self) -> String {
        join_argv(&self.argv)
    }
}

/// A function defined by the script.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    /// Its name.
    pub name: String,
    /// True when its body pipes the function into itself (the fork-bomb shape `:(){ :|:& }`).
    pub pipes_into_itself: bool,
}

/// Everything a script would run and touch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// Every command that would run, including those in substitutions, groups, `bash -c`
    /// scripts, `eval`, `find -exec` and function bodies.
    pub invocations: Vec<Invocation>,
    /// Files written by redirections (`>`, `>>`, `&>`, `>|`, `<>`, `>& file`).
    pub redirect_writes: Vec<String>,
    /// Files read by `<` redirections.
    pub redirect_reads: Vec<String>,
    /// Functions the script defines.
    pub functions: Vec<FunctionDef>,
}

/// Parses and flattens `src`.
pub fn analyze(src: &str) -> Analysis {
    let mut analysis = Analysis::default();
    Flattener {
        out: &mut analysis,
        next_pipeline: 0,
    }
    .script(&parse(src), 0);
    analysis
}

struct Flattener<'a> {
    out: &'a mut Analysis,
    next_pipeline: usize,
}

/// What flows into a command's stdin, when we can tell.
#[derive(Debug, Clone, Default)]
struct Stdin {
    text: Option<String>,
    items: Vec<String>,
}

impl Flattener<'_> {
    fn script(&mut self, script: &Script, depth: usize) {
        for pipeline in &script.pipelines {
            let id = self.next_pipeline;
            self.next_pipeline += 1;
            let mut upstream = Stdin::default();
            for command in &pipeline.commands {
                upstream = self.command(command, id, upstream, depth);
            }
        }
    }

    fn script_text(&mut self, src: &str, depth: usize) {
        if depth < MAX_DEPTH {
            self.script(&parse(src), depth + 1);
        }
    }

    /// Flattens one pipeline element; returns what it would write to its stdout, if known.
    fn command(&mut self, command: &Command, pipeline: usize, stdin: Stdin, depth: usize) -> Stdin {
        match command {
            Command::Group { body, redirects } => {
                self.redirects(redirects, depth);
                self.script(body, depth);
                Stdin::default()
            }
            Command::Function { name, body } => {
                let start = self.out.invocations.len();
                self.command(body, pipeline, Stdin::default(), depth);
                let mut per_pipeline: std::collections::HashMap<usize, usize> =
                    std::collections::HashMap::new();
                for inv in &self.out.invocations[start..] {
                    if inv.name() == name {
                        *per_pipeline.entry(inv.pipeline).or_default() += 1;
                    }
                }
                let pipes_into_itself = per_pipeline.values().any(|&n| n >= 2);
                self.out.functions.push(FunctionDef {
                    name: name.clone(),
                    pipes_into_itself,
                });
                Stdin::default()
            }
            Command::Simple(cmd) => self.simple(cmd, pipeline, stdin, depth),
        }
    }

    fn redirects(&mut self, redirects: &[Redirect], depth: usize) -> Option<String> {
        let mut stdin_text = None;
        for r in redirects {
            self.word_substitutions(&r.target, depth);
            match &r.kind {
                k if k.writes_file() => self.out.redirect_writes.push(r.target.text.clone()),
                RedirectKind::Read => self.out.redirect_reads.push(r.target.text.clone()),
                RedirectKind::HereDoc { body } => stdin_text = Some(body.clone()),
                RedirectKind::HereString => stdin_text = Some(r.target.text.clone()),
                _ => {}
            }
        }
        stdin_text
    }

    fn word_substitutions(&mut self, word: &Word, depth: usize) {
        for sub in &word.substitutions {
            self.script(sub, depth + 1);
        }
    }

    fn simple(
        &mut self,
        cmd: &SimpleCommand,
        pipeline: usize,
        stdin: Stdin,
        depth: usize,
    ) -> Stdin {
        for w in cmd.assignments.iter().chain(&cmd.words) {
            self.word_substitutions(w, depth);
        }
        let here = self.redirects(&cmd.redirects, depth);
        let stdin = match here {
            Some(text) => Stdin {
                items: text.split_whitespace().map(str::to_owned).collect(),
                text: Some(text),
            },
            None => stdin,
        };
        let argv: Vec<String> = cmd.words.iter().map(|w| w.text.clone()).collect();
        let produced = stdout_guess(&argv, &stdin);
        self.expand(argv, &stdin, pipeline, depth);
        produced
    }

    /// Unwraps wrappers and records what runs.
    fn expand(&mut self, mut argv: Vec<String>, stdin: &Stdin, pipeline: usize, depth: usize) {
        loop {
            let Some(first) = argv.first() else { return };
            let name = basename(first).to_owned();
            let rest: Vec<String> = argv[1..].to_vec();
            let next: Option<Vec<String>> = match name.as_str() {
                "sudo" => Some(skip_options(
                    &rest,
                    &["-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-T", "-D"],
                    &[
                        "--user",
                        "--group",
                        "--host",
                        "--prompt",
                        "--close-from",
                        "--other-user",
                        "--role",
                        "--type",
                        "--chdir",
                        "--command-timeout",
                    ],
                    true,
                )),
                "doas" => Some(skip_options(&rest, &["-u", "-C"], &[], false)),
                "env" => {
                    // `env -S "cmd args"` splits its string into a command line.
                    if let Some(pos) = rest.iter().position(|a| a == "-S" || a == "--split-string")
                    {
                        if let Some(s) = rest.get(pos + 1) {
                            let mut line = s.clone();
                            for a in &rest[pos + 2..] {
                                line.push(' ');
                                line.push_str(&quote(a));
                            }
                            self.script_text(&line, depth);
                        }
                        return;
                    }
                    Some(skip_options(
                        &rest,
                        &["-u", "-C", "--unset", "--chdir"],
                        &[],
                        true,
                    ))
                }
                "nice" => Some(skip_options(&rest, &["-n", "--adjustment"], &[], false)),
                "nohup" | "builtin" | "unbuffer" => Some(rest),
                "time" => Some(skip_options(
                    &rest,
                    &["-f", "-o", "--format", "--output"],
                    &[],
                    false,
                )),
                "stdbuf" => Some(skip_options(&rest, &["-i", "-o", "-e"], &[], false)),
                "ionice" => Some(skip_options(
                    &rest,
                    &["-c", "-n", "--class", "--classdata"],
                    &[],
                    false,
                )),
                "exec" => Some(skip_options(&rest, &["-a"], &[], false)),
                "command" => {
                    if rest
                        .first()
                        .is_some_and(|a| a.starts_with("-v") || a.starts_with("-V"))
                    {
                        None // `command -v x` only looks x up
                    } else {
                        Some(skip_options(&rest, &[], &[], false))
                    }
                }
                "timeout" => {
                    let after =
                        skip_options(&rest, &["-s", "-k", "--signal", "--kill-after"], &[], false);
                    Some(after.get(1..).map(<[String]>::to_vec).unwrap_or_default())
                }
                "xargs" => {
                    let mut cmd = skip_options(
                        &rest,
                        &["-I", "-L", "-n", "-P", "-d", "-E", "-s", "-a", "-e", "-l"],
                        &[
                            "--replace",
                            "--max-lines",
                            "--max-args",
                            "--max-procs",
                            "--delimiter",
                            "--eof",
                            "--max-chars",
                            "--arg-file",
                        ],
                        false,
                    );
                    if cmd.is_empty() {
                        cmd.push("echo".to_owned());
                    }
                    cmd.extend(stdin.items.iter().cloned());
                    Some(cmd)
                }
                "eval" => {
                    self.record(argv.clone(), stdin, pipeline);
                    self.script_text(&rest.join(" "), depth);
                    return;
                }
                "su" => {
                    self.record(argv.clone(), stdin, pipeline);
                    if let Some(pos) = rest.iter().position(|a| a == "-c" || a == "--command") {
                        if let Some(script) = rest.get(pos + 1) {
                            self.script_text(script, depth);
                        }
                    }
                    return;
                }
                "watch" => {
                    let cmd = skip_options(&rest, &["-n", "-d", "--interval"], &[], false);
                    self.record(argv.clone(), stdin, pipeline);
                    self.script_text(&cmd.join(" "), depth);
                    return;
                }
                "find" => {
                    self.record(argv.clone(), stdin, pipeline);
                    for synthesized in find_actions(&rest) {
                        self.expand(synthesized, &Stdin::default(), pipeline, depth);
                    }
                    return;
                }
                n if is_shell(n) => {
                    self.record(argv.clone(), stdin, pipeline);
                    match shell_script(&rest) {
                        ShellInput::Script(script) => self.script_text(&script, depth),
                        ShellInput::Stdin => {
                            if let Some(text) = &stdin.text {
                                self.script_text(text, depth);
                            }
                        }
                        ShellInput::File => {}
                    }
                    return;
                }
                _ => None,
            };
            match next {
                Some(inner) => argv = inner,
                None => {
                    self.record(argv, stdin, pipeline);
                    return;
                }
            }
        }
    }

    fn record(&mut self, argv: Vec<String>, stdin: &Stdin, pipeline: usize) {
        self.out.invocations.push(Invocation {
            argv,
            stdin: stdin.text.clone(),
            pipeline,
        });
    }
}

/// What a command prints, when it is obvious enough to feed `xargs` or a shell.
fn stdout_guess(argv: &[String], stdin: &Stdin) -> Stdin {
    let Some(first) = argv.first() else {
        return Stdin::default();
    };
    let args = &argv[1..];
    match basename(first) {
        "echo" | "printf" => {
            let words: Vec<&String> = args
                .iter()
                .skip_while(|a| matches!(a.as_str(), "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            let text = words
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Stdin {
                items: text.split_whitespace().map(str::to_owned).collect(),
                text: Some(text),
            }
        }
        "cat" if args.is_empty() => stdin.clone(),
        "find" => Stdin {
            text: None,
            items: find_matches(&skip_find_global_options(args)),
        },
        "ls" => {
            let paths: Vec<String> = args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .map(|p| format!("{}/*", p.trim_end_matches('/')))
                .collect();
            Stdin {
                text: None,
                items: if paths.is_empty() {
                    vec!["*".to_owned()]
                } else {
                    paths
                },
            }
        }
        _ => Stdin::default(),
    }
}

/// Skips leading options (and, when `assignments`, `NAME=value` words) and returns the rest.
/// `with_arg` are short or long options that take a separate argument.
fn skip_options(
    args: &[String],
    with_arg: &[&str],
    long_with_arg: &[&str],
    assignments: bool,
) -> Vec<String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if assignments && is_assignment(a) {
            i += 1;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            // `nice -10` and `-n10` carry their value inside; `-n 10` takes the next word.
            if with_arg.contains(&a) || long_with_arg.contains(&a) {
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        break;
    }
    args.get(i..).map(<[String]>::to_vec).unwrap_or_default()
}

/// True for the names of shells that take `-c script`.
pub fn is_shell(name: &str) -> bool {
    matches!(
        name,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "fish" | "busybox"
    )
}

enum ShellInput {
    Script(String),
    Stdin,
    File,
}

/// Where a shell gets its script: `-c script` (also in clusters like `-lc`, `-ec`), stdin, or a file.
fn shell_script(args: &[String]) -> ShellInput {
    let mut command_mode = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            i += if matches!(long, "rcfile" | "init-file") {
                2
            } else {
                1
            };
            continue;
        }
        if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) {
            if a.starts_with('-') && a.contains('c') {
                command_mode = true;
            }
            i += if a.contains('o') { 2 } else { 1 };
            continue;
        }
        break;
    }
    match (command_mode, args.get(i)) {
        (true, Some(script)) => ShellInput::Script(script.clone()),
        (true, None) => ShellInput::File,
        (false, Some(_)) => ShellInput::File,
        (false, None) => ShellInput::Stdin,
    }
}

/// `find`'s options that come before the start paths.
fn skip_find_global_options(args: &[String]) -> Vec<String> {
    let mut i = 0;
    while i < args.len()
        && matches!(
            args[i].as_str(),
            "-H" | "-L" | "-P" | "-O0" | "-O1" | "-O2" | "-O3"
        )
    {
        i += 1;
    }
    args[i..].to_vec()
}

/// Predicates that do not narrow what `find` matches.
const FIND_NON_FILTERS: &[&str] = &[
    "-depth", "-xdev", "-mount", "-follow", "-print", "-print0", "-delete", "-noleaf", "-ls", "-d",
    "-prune",
];

/// `find`'s start paths, and whether its expression filters what it matches.
fn find_paths_and_filtered(args: &[String]) -> (Vec<String>, bool) {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a.starts_with('-') || a == "(" || a == "!" || a == "\\(" {
            break;
        }
        paths.push(a.to_owned());
        i += 1;
    }
    if paths.is_empty() {
        paths.push(".".to_owned());
    }
    let mut filtered = false;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                // Skip the command up to its terminator.
                while i < args.len() && args[i] != ";" && args[i] != "+" {
                    i += 1;
                }
            }
            "-maxdepth" | "-mindepth" => i += 1,
            _ if FIND_NON_FILTERS.contains(&a) => {}
            _ if a.starts_with('-') || a == "!" || a == "(" => filtered = true,
            _ => {}
        }
        i += 1;
    }
    (paths, filtered)
}

/// What `{}` stands for: each start path itself when nothing filters the matches (every
/// file under it is hit), else `path/{}` (some files under it).
fn find_matches(args: &[String]) -> Vec<String> {
    let (paths, filtered) = find_paths_and_filtered(args);
    paths
        .into_iter()
        .map(|p| {
            if filtered {
                format!("{}/{{}}", p.trim_end_matches('/'))
            } else {
                p
            }
        })
        .collect()
}

/// The commands a `find` runs: each `-exec`/`-execdir`/`-ok` command with `{}` replaced (see
/// [`find_matches`]) and, for `-delete`, an equivalent `rm -r -f`.
fn find_actions(args: &[String]) -> Vec<Vec<String>> {
    let args = skip_find_global_options(args);
    let matches = find_matches(&args);
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let mut cmd = Vec::new();
                i += 1;
                while i < args.len() && args[i] != ";" && args[i] != "+" {
                    if args[i].contains("{}") {
                        for m in &matches {
                            cmd.push(args[i].replace("{}", m));
                        }
                    } else {
                        cmd.push(args[i].clone());
                    }
                    i += 1;
                }
                // find walks the tree, so an `rm` it runs deletes recursively.
                if let Some(rm) = cmd.iter().position(|w| basename(w) == "rm") {
                    cmd.insert(rm + 1, "-r".to_owned());
                }
                if !cmd.is_empty() {
                    out.push(cmd);
                }
            }
            "-delete" => {
                let mut cmd = vec!["rm".to_owned(), "-r".to_owned(), "-f".to_owned()];
                cmd.extend(matches.iter().cloned());
                out.push(cmd);
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The last path component (`/usr/bin/rm` gives `rm`); the word itself when it has no `/`.
pub fn basename(word: &str) -> &str {
    let trimmed = word.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((_, base)) if !base.is_empty() => base,
        _ => word,
    }
}

/// Shell-quotes one word when it needs it.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=:,@%+~".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Joins an argv into one shell line, quoting words that need it.
pub fn join_argv(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(src: &str) -> Vec<Vec<String>> {
        analyze(src)
            .invocations
            .into_iter()
            .map(|i| i.argv)
            .collect()
    }

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        assert_eq!(
            argvs(r#"echo 'a b' "c $HOME \"d\"" e\ f $'g\th'"#),
            vec![v(&["echo", "a b", "c $HOME \"d\"", "e f", "g\th"])]
        );
    }

    #[test]
    fn separators_split_pipelines() {
        let a = analyze("a 1; b 2 && c 3 || d 4 & e 5 | f 6\ng 7");
        let names: Vec<&str> = a.invocations.iter().map(|i| i.name()).collect();
        assert_eq!(names, vec!["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(a.invocations[4].pipeline, a.invocations[5].pipeline);
        assert_ne!(a.invocations[3].pipeline, a.invocations[4].pipeline);
    }

    #[test]
    fn groups_substitutions_and_backticks_are_parsed() {
        let names: Vec<String> =
            analyze("(cd x && make) ; { ls; } ; echo $(whoami) `date` \"$(id -u)\"")
                .invocations
                .into_iter()
                .map(|i| i.argv[0].clone())
                .collect();
        for n in ["cd", "make", "ls", "echo", "whoami", "date", "id"] {
            assert!(names.contains(&n.to_owned()), "{n} missing in {names:?}");
        }
    }

    #[test]
    fn redirections_are_recorded() {
        let a = analyze("cmd > out.txt 2>&1 >> log 2> err &> all < in >| clob");
        assert_eq!(
            a.redirect_writes,
            v(&["out.txt", "log", "err", "all", "clob"])
        );
        assert_eq!(a.redirect_reads, v(&["in"]));
        assert_eq!(a.invocations[0].argv, v(&["cmd"]));
    }

    #[test]
    fn assignments_are_not_the_command() {
        assert_eq!(argvs("A=1 B='x y' rm -rf /"), vec![v(&["rm", "-rf", "/"])]);
    }

    #[test]
    fn wrappers_are_unwrapped() {
        assert_eq!(
            argvs("sudo -u root -E rm -rf /"),
            vec![v(&["rm", "-rf", "/"])]
        );
        assert_eq!(
            argvs("env -i FOO=1 nice -n 5 nohup timeout -s KILL 10 rm x"),
            vec![v(&["rm", "x"])]
        );
        assert_eq!(argvs("doas time command exec ls"), vec![v(&["ls"])]);
        assert_eq!(argvs("command -v rm"), vec![v(&["command", "-v", "rm"])]);
    }

    #[test]
    fn shells_and_eval_are_parsed_recursively() {
        let a = argvs("bash -lc \"sudo rm -rf '/'\"");
        assert!(a.contains(&v(&["rm", "-rf", "/"])), "{a:?}");
        let a = argvs("sh -c 'eval \"rm -rf ~\"'");
        assert!(a.contains(&v(&["rm", "-rf", "~"])), "{a:?}");
        let a = argvs("bash -euo pipefail -c 'chmod -R 777 x'");
        assert!(a.contains(&v(&["chmod", "-R", "777", "x"])), "{a:?}");
        let a = argvs("echo 'rm -rf /' | sh");
        assert!(a.contains(&v(&["rm", "-rf", "/"])), "{a:?}");
        let a = argvs("bash <<'EOF'\nrm -rf /\nEOF\n");
        assert!(a.contains(&v(&["rm", "-rf", "/"])), "{a:?}");
    }

    #[test]
    fn xargs_gets_its_producer_items() {
        assert!(argvs("echo / | xargs -0 rm -rf").contains(&v(&["rm", "-rf", "/"])));
        assert!(argvs("find . -name x | xargs rm -rf").contains(&v(&["rm", "-rf", "./{}"])));
    }

    #[test]
    fn find_exec_and_delete_are_commands() {
        let a = argvs("find / -exec rm -rf {} \\;");
        assert!(a.contains(&v(&["rm", "-r", "-rf", "/"])), "{a:?}");
        let a = argvs("find / -type f -exec rm -f {} \\;");
        assert!(a.contains(&v(&["rm", "-r", "-f", "/{}"])), "{a:?}");
        let a = argvs("find . -name '*.pyc' -delete");
        assert!(a.contains(&v(&["rm", "-r", "-f", "./{}"])), "{a:?}");
        let a = argvs("find ~ -type f -exec sudo rm {} +");
        assert!(a.contains(&v(&["rm", "-r", "~/{}"])), "{a:?}");
    }

    #[test]
    fn heredocs_are_not_commands() {
        let a = analyze("cat > notes.md <<'EOF'\nrm -rf /\nEOF\necho done");
        let names: Vec<&str> = a.invocations.iter().map(|i| i.name()).collect();
        assert_eq!(names, vec!["cat", "echo"]);
        assert_eq!(a.invocations[0].stdin.as_deref(), Some("rm -rf /\n"));
        assert_eq!(a.redirect_writes, v(&["notes.md"]));
    }

    #[test]
    fn heredoc_inside_substitution_is_skipped() {
        let a =
            analyze("git commit -m \"$(cat <<'EOF'\nFix: rm -rf / in docs\nEOF\n)\" && git push");
        let names: Vec<&str> = a.invocations.iter().map(|i| i.name()).collect();
        assert_eq!(names, vec!["cat", "git", "git"]);
    }

    #[test]
    fn fork_bomb_is_a_self_piping_function() {
        let a = analyze(":(){ :|:& };:");
        assert_eq!(a.functions.len(), 1);
        assert!(a.functions[0].pipes_into_itself);
        let a = analyze("f() { echo hi; }; f");
        assert!(!a.functions[0].pipes_into_itself);
    }

    #[test]
    fn unbalanced_input_does_not_fail() {
        let _ = analyze("echo 'unterminated");
        let _ = analyze("echo $(ls");
        let _ = analyze(")))((( {{ }");
        let _ = analyze(&"$(".repeat(200));
        let _ = analyze(&"`".repeat(101));
    }

    #[test]
    fn comments_are_ignored() {
        assert_eq!(argvs("ls # rm -rf /"), vec![v(&["ls"])]);
        assert_eq!(argvs("echo a#b"), vec![v(&["echo", "a#b"])]);
    }

    #[test]
    fn quote_round_trips_simple_words() {
        assert_eq!(
            join_argv(&v(&["rm", "-rf", "a b", "it's"])),
            "rm -rf 'a b' 'it'\\''s'"
        );
        assert_eq!(basename("/usr/bin/rm"), "rm");
        assert_eq!(basename("/"), "/");
    }
}
