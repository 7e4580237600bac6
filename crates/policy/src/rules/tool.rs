//! Tool-call normalisation: turns a Claude Code or Codex tool call (name + JSON input) into a
//! typed [`ToolAction`], and gives rules one view of shell commands whatever the client.
//!
//! Shapes understood:
//! * shell: Claude Code `Bash {command: string}`; Codex `exec_command {cmd: string | argv}`,
//!   `shell` / `local_shell` / `container.exec {command: argv}`. An argv that runs a shell with
//!   `-c`/`-lc` (`["bash", "-lc", "…"]`) stands for its inner script; another argv is joined
//!   with shell quoting.
//! * file writes: `Write`/`Edit`/`MultiEdit {file_path}`, `NotebookEdit {notebook_path}`, Codex
//!   `apply_patch` whose input is the patch text (a string, or `{input}` / `{patch}`).
//! * reads: `Read`, `Glob`, `Grep`, `LS`, `NotebookRead`.
//! * web: `WebFetch {url}`, `WebSearch {query}` (and `web_fetch` / `web_search`).

use serde_json::Value;

use super::shell::{is_shell, join_argv};

/// What a tool call does, whatever client sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolAction {
    /// Runs a shell script.
    Shell {
        /// The script (for an argv, its inner `-c` script or its quoted join).
        script: String,
    },
    /// Writes, edits, creates, moves or deletes these files.
    WriteFiles {
        /// The paths as given.
        paths: Vec<String>,
    },
    /// Reads files or searches them; never affected by write rules.
    Read {
        /// The paths or patterns as given.
        paths: Vec<String>,
    },
    /// Fetches a URL.
    WebFetch {
        /// The URL.
        url: String,
    },
    /// Searches the web.
    WebSearch {
        /// The query.
        query: String,
    },
    /// Anything else (MCP tools, agents, todo lists, …).
    Other,
}

/// Where a shell tool keeps its command, so a rewritten `/command` can be written back.
#[derive(Debug, Clone, PartialEq)]
pub enum ShellSource {
    /// `{command: "…"}` (Claude Code `Bash`).
    CommandString,
    /// `{cmd: "…"}` (Codex `exec_command`).
    CmdString,
    /// An argv under `field` whose element `index` is a shell's `-c` script.
    WrappedScript {
        /// `cmd` or `command`.
        field: &'static str,
        /// The script's position in the argv.
        index: usize,
    },
    /// A plain argv under `field`.
    Argv {
        /// `cmd` or `command`.
        field: &'static str,
    },
}

/// Normalises one tool call.
pub fn normalize(name: &str, input: &Value) -> ToolAction {
    if let Some((script, _)) = shell_command(name, input) {
        return ToolAction::Shell { script };
    }
    let str_field = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_owned);
    match name {
        "Write" | "Edit" | "MultiEdit" => ToolAction::WriteFiles {
            paths: str_field("file_path").into_iter().collect(),
        },
        "NotebookEdit" => ToolAction::WriteFiles {
            paths: str_field("notebook_path").into_iter().collect(),
        },
        "apply_patch" => ToolAction::WriteFiles {
            paths: patch_text(input).map(patch_paths).unwrap_or_default(),
        },
        "Read" | "NotebookRead" => ToolAction::Read {
            paths: str_field("file_path")
                .or_else(|| str_field("notebook_path"))
                .into_iter()
                .collect(),
        },
        "Glob" | "Grep" | "LS" => ToolAction::Read {
            paths: ["path", "pattern"]
                .iter()
                .filter_map(|k| str_field(k))
                .collect(),
        },
        "WebFetch" | "web_fetch" => ToolAction::WebFetch {
            url: str_field("url").unwrap_or_default(),
        },
        "WebSearch" | "web_search" => ToolAction::WebSearch {
            query: str_field("query").unwrap_or_default(),
        },
        _ => ToolAction::Other,
    }
}

/// The shell script a shell tool runs and where it came from; `None` for other tools.
pub fn shell_command(name: &str, input: &Value) -> Option<(String, ShellSource)> {
    match name {
        "Bash" => input
            .get("command")
            .and_then(Value::as_str)
            .map(|s| (s.to_owned(), ShellSource::CommandString)),
        "exec_command" => match input.get("cmd") {
            Some(Value::String(s)) => Some((s.clone(), ShellSource::CmdString)),
            Some(Value::Array(a)) => argv_script(a, "cmd"),
            _ => None,
        },
        "shell" | "local_shell" | "container.exec" => match input.get("command") {
            Some(Value::Array(a)) => argv_script(a, "command"),
            Some(Value::String(s)) => Some((s.clone(), ShellSource::CommandString)),
            _ => None,
        },
        _ => None,
    }
}

fn argv_script(argv: &[Value], field: &'static str) -> Option<(String, ShellSource)> {
    let words: Vec<String> = argv
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let first = words.first()?;
    if is_shell(super::shell::basename(first)) {
        // `bash -lc SCRIPT`: the script follows the option cluster holding `c`.
        let mut i = 1;
        let mut command_mode = false;
        while i < words.len() && words[i].starts_with('-') && words[i].len() > 1 {
            command_mode |= words[i].contains('c');
            i += 1;
        }
        if command_mode && i < words.len() {
            return Some((
                words[i].clone(),
                ShellSource::WrappedScript { field, index: i },
            ));
        }
    }
    Some((join_argv(&words), ShellSource::Argv { field }))
}

/// Writes a rewritten script back where [`shell_command`] found it. A plain argv becomes
/// `["bash", "-lc", script]`, since a rewritten command line no longer splits into the old words.
pub fn set_shell_command(input: &mut Value, source: &ShellSource, script: String) {
    let Some(obj) = input.as_object_mut() else {
        return;
    };
    match source {
        ShellSource::CommandString => {
            obj.insert("command".to_owned(), Value::String(script));
        }
        ShellSource::CmdString => {
            obj.insert("cmd".to_owned(), Value::String(script));
        }
        ShellSource::WrappedScript { field, index } => {
            if let Some(slot) = obj
                .get_mut(*field)
                .and_then(Value::as_array_mut)
                .and_then(|a| a.get_mut(*index))
            {
                *slot = Value::String(script);
            }
        }
        ShellSource::Argv { field } => {
            obj.insert(
                (*field).to_owned(),
                Value::Array(vec!["bash".into(), "-lc".into(), script.into()]),
            );
        }
    }
}

/// The patch text of an `apply_patch` call: the input itself, or its `input` / `patch` field.
pub fn patch_text(input: &Value) -> Option<&str> {
    match input {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("input")
            .or_else(|| o.get("patch"))
            .and_then(Value::as_str),
        _ => None,
    }
}

/// The files a Codex patch adds, updates, deletes or moves to.
pub fn patch_paths(patch: &str) -> Vec<String> {
    const MARKERS: [&str; 4] = [
        "*** Add File:",
        "*** Update File:",
        "*** Delete File:",
        "*** Move to:",
    ];
    patch
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            MARKERS
                .iter()
                .find_map(|m| line.strip_prefix(m))
                .map(|p| p.trim().to_owned())
        })
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_code_shapes() {
        assert_eq!(
            normalize("Bash", &json!({"command": "ls -la", "description": "list"})),
            ToolAction::Shell {
                script: "ls -la".into()
            }
        );
        assert_eq!(
            normalize(
                "Edit",
                &json!({"file_path": "/etc/hosts", "old_string": "a", "new_string": "b"})
            ),
            ToolAction::WriteFiles {
                paths: vec!["/etc/hosts".into()]
            }
        );
        assert_eq!(
            normalize(
                "NotebookEdit",
                &json!({"notebook_path": "a.ipynb", "new_source": ""})
            ),
            ToolAction::WriteFiles {
                paths: vec!["a.ipynb".into()]
            }
        );
        assert_eq!(
            normalize("Read", &json!({"file_path": "/etc/passwd"})),
            ToolAction::Read {
                paths: vec!["/etc/passwd".into()]
            }
        );
        assert_eq!(
            normalize("WebFetch", &json!({"url": "https://x", "prompt": "p"})),
            ToolAction::WebFetch {
                url: "https://x".into()
            }
        );
        assert_eq!(normalize("TodoWrite", &json!({})), ToolAction::Other);
    }

    #[test]
    fn codex_shapes() {
        assert_eq!(
            normalize("exec_command", &json!({"cmd": "rm -rf /"})),
            ToolAction::Shell {
                script: "rm -rf /".into()
            }
        );
        assert_eq!(
            normalize("exec_command", &json!({"cmd": ["rm", "-rf", "a b"]})),
            ToolAction::Shell {
                script: "rm -rf 'a b'".into()
            }
        );
        assert_eq!(
            normalize(
                "shell",
                &json!({"command": ["bash", "-lc", "curl x | sh"], "workdir": "/w"})
            ),
            ToolAction::Shell {
                script: "curl x | sh".into()
            }
        );
        let patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** Update File: src/b.rs\n*** Move to: src/c.rs\n@@\n-x\n+y\n*** Delete File: d\n*** End Patch\n";
        let expected = ToolAction::WriteFiles {
            paths: vec![
                "a.txt".into(),
                "src/b.rs".into(),
                "src/c.rs".into(),
                "d".into(),
            ],
        };
        assert_eq!(normalize("apply_patch", &json!(patch)), expected);
        assert_eq!(normalize("apply_patch", &json!({"input": patch})), expected);
    }

    #[test]
    fn rewritten_scripts_go_back_where_they_came_from() {
        let mut input = json!({"command": ["bash", "-lc", "pip install x"]});
        let (_, source) = shell_command("shell", &input).unwrap();
        set_shell_command(&mut input, &source, "uv add x".into());
        assert_eq!(input, json!({"command": ["bash", "-lc", "uv add x"]}));

        let mut input = json!({"cmd": ["pip", "install", "x"]});
        let (script, source) = shell_command("exec_command", &input).unwrap();
        assert_eq!(script, "pip install x");
        set_shell_command(&mut input, &source, "uv add x".into());
        assert_eq!(input, json!({"cmd": ["bash", "-lc", "uv add x"]}));
    }
}
