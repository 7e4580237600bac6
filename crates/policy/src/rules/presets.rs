//! The deterministic presets (no LLM) and the built-in checks behind them. Each preset is a
//! [`RulesPolicy`] named after itself; each check is a pure function usable on its own.
//!
//! Where the lines are drawn:
//!
//! **`block_dangerous_commands`** ([`dangerous_command`]) blocks, wherever the command sits
//! (after `sudo`/`env`/`nice`/…, in `bash -c`/`eval`/`xargs`/`find -exec`, in pipelines,
//! chains, groups and substitutions):
//! * `rm` with `--no-preserve-root`; `rm` of a critical path (`/`, `/*`, the home directory or
//!   `~/*`, system directories like `/etc`, `/usr`, `/var`, `/home` and their `/*`) even without
//!   `-r`; a recursive `rm` (`-r`, `-R`, `--recursive`, forced or not) of any absolute path,
//!   anything under `~`/`$HOME`, a path starting with a variable or substitution (it may expand
//!   to `/`), `*`, `.*`, `.`, `..` or any path with a `..` component. Recursive deletes of plain
//!   relative paths (`./build`, `target`, `node_modules`, `dist/*`) and non-recursive deletes of
//!   ordinary files pass. So a recursive delete of a temp dir by absolute path is blocked.
//! * `find … -delete` and `find … -exec rm …`: judged as `rm -r` of the start paths when nothing
//!   filters the matches, else of `path/{}` (so `find . -name '*.pyc' -delete` passes and
//!   `find / -name x -delete` does not).
//! * `mkfs*`, `mke2fs`; `dd of=/dev/…` (but not `/dev/null` and friends); `shred`, `wipefs`,
//!   `blkdiscard`; `fdisk`/`sfdisk`/`gdisk`/`parted` unless they only list; `sgdisk` zapping,
//!   clearing, deleting or creating partitions; redirections, `tee` or `cp` to raw disks
//!   (`/dev/sd*`, `/dev/nvme*`, `/dev/disk*`, `/dev/hd*`, `/dev/vd*`, `/dev/mmcblk*`, …).
//! * `chmod` recursive with a world-writable mode (`777`, `666`, `o+w`, `a+rwx`, …) on anything;
//!   `chmod`/`chown`/`chgrp` recursive on a critical path; world-writable `chmod` of a critical path.
//! * `mv` of a critical path; fork bombs (a function piping into itself).
//! * A command hidden in a variable (`$RM /`) is blocked when it targets a critical path.
//! * Not covered (documented limits): code in other languages (`python -c "shutil.rmtree('/')"`),
//!   commands assembled at run time beyond a leading variable, scripts run from files, and
//!   `xargs` fed by producers other than `echo`/`printf`/`find`/`ls`/here-documents.
//! * Text that merely mentions these (`echo "rm -rf /"`, `grep -r "rm -rf" .`, heredoc bodies)
//!   passes: words are not commands.
//!
//! **`block_sensitive_file_writes`** ([`sensitive_file_write`]) blocks writes (Write, Edit,
//! MultiEdit, NotebookEdit, Codex's `apply_patch` (the free-form custom tool, its JSON form, or
//! run from a shell): every `*** Add File:`, `*** Update File:`, `*** Delete File:` and
//! `*** Move to:` path of the patch), and in shell: redirections, `tee`, `cp`, `mv`,
//! `install`, `ln`, `rsync`, `sed -i`, `perl -i`, `rm`, `shred`, `truncate`, `touch`, `mkdir`,
//! `dd of=`, `curl -o`, `wget -O`, `tar -C` when extracting, `ssh-keygen -f`, account tools like
//! `passwd`/`useradd`/`visudo`) to: `/etc`, `/usr`, `/boot`, `/sys`, `/proc`, `/root`, `/bin`,
//! `/sbin`, `/lib*`; `~/.ssh`, `~/.aws`, `~/.gnupg`, `~/.config/gcloud`, `~/.kube`, `~/.docker`,
//! `~/.azure`, `~/.config/gh`, `~/.netrc`, `~/.git-credentials`, `~/.pypirc`, `~/.npmrc` (also
//! spelt `$HOME/…`, `/home/<user>/…`, `/Users/<user>/…`); anything inside a `.ssh`, `.aws` or
//! `.gnupg` directory wherever it is (an agent working in `~` writes `.ssh/config`; a patch
//! may climb with `../..`); and files named like keys,
//! certificates or credentials anywhere (`*.pem`, `*.key`, `*.crt`, `*.p12`, `*.pfx`, `id_rsa*`,
//! `id_ed25519*`, `authorized_keys`, `known_hosts`, `.env` and `.env.*` except
//! `.env.example`/`.sample`/`.template`/`.dist`, `credentials`, `shadow`, `passwd`, `sudoers`,
//! `.pgpass`). Reads (Read/Glob/Grep, `cat`, `cp` *from* those places) pass; `chmod`/`chown` of
//! them pass (metadata, not content).
//!
//! **`block_web_requests`** ([`web_request`]) blocks the WebFetch/WebSearch tools and, in shell:
//! `curl`, `wget`, `nc`/`ncat`/`netcat`, `socat`, `telnet`, `ssh`, `scp`, `sftp`, `ftp`,
//! `httpie`/`http`/`https`, `xh`, `aria2c`, text browsers, `rsync` with a remote (`host:path`,
//! `rsync://`), PowerShell web cmdlets, `/dev/tcp` redirections, and `python -c`/`node -e`/
//! `ruby -e`/`perl -e`/`php -r` (or code on stdin) using urllib, requests, httpx, http.client,
//! sockets, fetch, axios, Net::HTTP, LWP and the like. `--version`/`--help` alone pass (no
//! request is made), as do package managers and `git` (`pip install`, `npm ci`, `git push`),
//! which need the network by design but are not ad-hoc requests, and scripts run from files
//! (`python fetch.py`), whose contents are not visible here.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::config::{ActionConfig, Check, InputMatch, MatchConfig, RuleConfig, RulesConfig};
use super::shell::{analyze, basename, Analysis, Invocation};
use super::tool::{normalize, patch_paths, ToolAction};
use super::RulesPolicy;

/// The preset names, as the registry lists them.
pub const PRESET_NAMES: &[&str] = &[
    "block_dangerous_commands",
    "block_sensitive_file_writes",
    "block_web_requests",
    "prefer_uv",
    "plain_dashes",
];

/// The preset called `name`, if there is one.
pub fn by_name(name: &str) -> Option<RulesPolicy> {
    Some(match name {
        "block_dangerous_commands" => block_dangerous_commands(),
        "block_sensitive_file_writes" => block_sensitive_file_writes(),
        "block_web_requests" => block_web_requests(),
        "prefer_uv" => prefer_uv(),
        "plain_dashes" => plain_dashes(),
        _ => return None,
    })
}

fn check_rule(name: &str, check: Check) -> RuleConfig {
    RuleConfig {
        name: name.to_owned(),
        reason: None,
        matcher: MatchConfig {
            check: Some(check),
            ..MatchConfig::default()
        },
        action: ActionConfig::Block { message: None },
    }
}

/// Blocks destructive shell commands (see the module doc for the exact line).
pub fn block_dangerous_commands() -> RulesPolicy {
    RulesPolicy::builtin(
        "block_dangerous_commands",
        RulesConfig {
            rules: vec![check_rule("dangerous-command", Check::DangerousCommand)],
        },
    )
}

/// Blocks writes to system, credential, key and certificate files.
pub fn block_sensitive_file_writes() -> RulesPolicy {
    RulesPolicy::builtin(
        "block_sensitive_file_writes",
        RulesConfig {
            rules: vec![check_rule(
                "sensitive-file-write",
                Check::SensitiveFileWrite,
            )],
        },
    )
}

/// Blocks network requests from tools and shell commands.
pub fn block_web_requests() -> RulesPolicy {
    RulesPolicy::builtin(
        "block_web_requests",
        RulesConfig {
            rules: vec![check_rule("web-request", Check::WebRequest)],
        },
    )
}

/// The `pip install` spellings `prefer_uv` rewrites to `uv add`.
pub const PIP_INSTALL_REGEX: &str =
    r"\b(?:uv\s+pip|python(?:\d(?:\.\d+)?)?\s+-m\s+pip|pip(?:\d(?:\.\d+)?)?)\s+install\b";

/// Rewrites `pip install X` (`pip3`, `python -m pip`, `uv pip`) to `uv add X` in shell
/// commands and in assistant text.
pub fn prefer_uv() -> RulesPolicy {
    RulesPolicy::builtin(
        "prefer_uv",
        RulesConfig {
            rules: vec![
                RuleConfig {
                    name: "pip-install-command".into(),
                    reason: Some("this project uses uv".into()),
                    matcher: MatchConfig {
                        input: Some(InputMatch {
                            pointer: "/command".into(),
                            regex: PIP_INSTALL_REGEX.into(),
                        }),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Replace {
                        replacement: "uv add".into(),
                    },
                },
                RuleConfig {
                    name: "pip-install-text".into(),
                    reason: Some("this project uses uv".into()),
                    matcher: MatchConfig {
                        text: Some(PIP_INSTALL_REGEX.into()),
                        ..MatchConfig::default()
                    },
                    action: ActionConfig::Replace {
                        replacement: "uv add".into(),
                    },
                },
            ],
        },
    )
}

/// Replaces em and en dashes with hyphens in assistant text, delta by delta.
pub fn plain_dashes() -> RulesPolicy {
    RulesPolicy::builtin(
        "plain_dashes",
        RulesConfig {
            rules: vec![RuleConfig {
                name: "plain-dashes".into(),
                reason: None,
                matcher: MatchConfig {
                    text: Some("[\u{2013}\u{2014}]".into()),
                    ..MatchConfig::default()
                },
                action: ActionConfig::Replace {
                    replacement: "-".into(),
                },
            }],
        },
    )
}

/// Runs a built-in check on a tool call; `Some(reason)` when it fires.
pub fn check_tool_call(check: Check, name: &str, input: &Value) -> Option<String> {
    let action = normalize(name, input);
    match check {
        Check::DangerousCommand => match &action {
            ToolAction::Shell { script } => dangerous_command(script),
            ToolAction::WriteFiles { paths } => paths
                .iter()
                .find(|p| is_disk_device(p))
                .map(|p| format!("it writes directly to the disk device {p}")),
            _ => None,
        },
        Check::SensitiveFileWrite => sensitive_file_write(&action),
        Check::WebRequest => web_request(&action),
    }
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Top-level directories whose loss or exposure breaks the machine or the user's account.
const CRITICAL_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/share",
    "/var",
    "/var/lib",
    "/Users",
    "/System",
    "/Library",
    "/Applications",
    "/private",
    "/Volumes",
    "/mnt",
    "/media",
];

/// How broad a path argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// `/`, the home directory, a system directory, or a glob of one of them.
    Critical,
    /// Another absolute path.
    Absolute,
    /// Something under the home directory.
    Home,
    /// Starts with a variable or substitution: could be anything, including `/`.
    Unknown,
    /// `*`, `.`, `..`, `.*` or a path escaping upwards.
    Broad,
    /// A plain relative path.
    Relative,
}

impl Scope {
    fn describe(self) -> &'static str {
        match self {
            Self::Critical => "a system or home directory",
            Self::Absolute => "an absolute path",
            Self::Home => "the home directory",
            Self::Unknown => "a path built from a variable or substitution (it could expand to /)",
            Self::Broad => "a broad path (a bare glob, the current or a parent directory)",
            Self::Relative => "a relative path",
        }
    }
}

/// Collapses `//`, drops trailing `/` and `/.`, and spells the home directory `~`.
fn normalize_path(path: &str) -> String {
    let mut p = path.trim().to_owned();
    for home in ["${HOME}", "$HOME"] {
        if let Some(rest) = p.strip_prefix(home) {
            p = format!("~{rest}");
        }
    }
    for users in ["/home/", "/Users/"] {
        if let Some(rest) = p.strip_prefix(users) {
            // `/home/alice/x` is `~/x`; `/home/*` or `/home/` itself stays critical.
            if let Some((user, tail)) = rest.split_once('/') {
                if !user.is_empty() && !user.contains('*') {
                    p = format!("~/{tail}");
                }
            } else if !rest.is_empty() && !rest.contains('*') {
                p = "~".to_owned();
            }
        }
    }
    while p.contains("//") {
        p = p.replace("//", "/");
    }
    loop {
        if p.len() > 1 && p.ends_with('/') {
            p.pop();
        } else if p.len() > 2 && p.ends_with("/.") {
            p.truncate(p.len() - 2);
        } else {
            break;
        }
    }
    p
}

fn scope(path: &str) -> Scope {
    let p = normalize_path(path);
    if p.is_empty() {
        return Scope::Relative;
    }
    if matches!(p.as_str(), "~" | "~/*" | "~/.*") || (p.starts_with('~') && !p.contains('/')) {
        return Scope::Critical;
    }
    if p.starts_with('~') {
        return Scope::Home;
    }
    if p.starts_with('$') || p.starts_with('`') {
        return Scope::Unknown;
    }
    if p.starts_with('/') {
        let dir = p
            .strip_suffix("/*")
            .or_else(|| p.strip_suffix("/.*"))
            .map(|d| if d.is_empty() { "/" } else { d })
            .unwrap_or(&p);
        if CRITICAL_DIRS.contains(&dir) || p == "/*" {
            return Scope::Critical;
        }
        return Scope::Absolute;
    }
    if matches!(p.as_str(), "*" | ".*" | "./*" | "./.*" | "." | "..")
        || p.split('/').any(|c| c == "..")
    {
        return Scope::Broad;
    }
    Scope::Relative
}

/// True for raw disk devices (writing them destroys a filesystem).
pub fn is_disk_device(path: &str) -> bool {
    static DISK: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|mapper/|loop\d)").ok()
    });
    DISK.as_ref().is_some_and(|r| r.is_match(path.trim()))
}

/// `/dev/…` files other than the harmless ones (`/dev/null`, `/dev/stdout`, …).
fn is_device_write(path: &str) -> bool {
    let p = path.trim();
    p.starts_with("/dev/")
        && !matches!(
            p,
            "/dev/null"
                | "/dev/zero"
                | "/dev/stdout"
                | "/dev/stderr"
                | "/dev/tty"
                | "/dev/random"
                | "/dev/urandom"
        )
        && !p.starts_with("/dev/fd/")
        && !p.starts_with("/dev/shm/")
}

// ---------------------------------------------------------------------------------------------
// Dangerous commands
// ---------------------------------------------------------------------------------------------

/// Why `script` is destructive, or `None` (see the module doc for the exact line).
pub fn dangerous_command(script: &str) -> Option<String> {
    let analysis = analyze(script);
    if let Some(f) = analysis.functions.iter().find(|f| f.pipes_into_itself) {
        return Some(format!(
            "it is a fork bomb (the function {} pipes into itself until the machine runs out of processes)",
            f.name
        ));
    }
    if let Some(w) = analysis.redirect_writes.iter().find(|w| is_disk_device(w)) {
        return Some(format!("it writes directly to the disk device {w}"));
    }
    analysis.invocations.iter().find_map(|inv| {
        dangerous_invocation(inv).map(|why| format!("{why} ({})", shorten(&inv.display())))
    })
}

fn shorten(text: &str) -> String {
    super::truncate(text, 160)
}

/// Splits arguments into option words and operands (`--` ends options).
fn split_args(args: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut only_operands = false;
    for a in args {
        if only_operands {
            operands.push(a.as_str());
        } else if a == "--" {
            only_operands = true;
        } else if a.len() > 1 && a.starts_with('-') {
            options.push(a.as_str());
        } else {
            operands.push(a.as_str());
        }
    }
    (options, operands)
}

/// True when a short-option cluster (`-rf`) or long option (`--recursive`) sets `short`/`long`.
fn has_flag(options: &[&str], short: char, long: &str) -> bool {
    options.iter().any(|o| {
        if let Some(l) = o.strip_prefix("--") {
            l == long
        } else {
            o[1..].contains(short)
        }
    })
}

fn dangerous_invocation(inv: &Invocation) -> Option<String> {
    let name = inv.name();
    let args = inv.args();
    match name {
        // `$RM /`: the command is hidden in a variable; judge it by its critical targets.
        n if n.starts_with('$') => args.iter().find(|a| scope(a) == Scope::Critical).map(|a| {
            format!("it runs a command hidden in a variable on {a}, a system or home directory")
        }),
        "rm" => dangerous_rm(args),
        "mkfs" | "mke2fs" | "newfs" => Some("it formats a filesystem".into()),
        n if n.starts_with("mkfs.") => Some("it formats a filesystem".into()),
        "dd" => args
            .iter()
            .filter_map(|a| a.strip_prefix("of="))
            .find(|p| is_device_write(p))
            .map(|p| format!("it writes raw data to the device {p}")),
        "shred" => Some("it irrecoverably overwrites files".into()),
        "wipefs" => Some("it erases filesystem signatures".into()),
        "blkdiscard" => Some("it discards every block of a device".into()),
        "fdisk" | "sfdisk" | "cfdisk" | "gdisk" | "cgdisk" | "parted" => {
            const LIST: &[&str] = &[
                "-l",
                "--list",
                "print",
                "-d",
                "--dump",
                "-V",
                "--version",
                "-h",
                "--help",
                "-s",
                "--show-size",
                "--verify",
                "-J",
                "--json",
            ];
            const EDIT: &[&str] = &[
                "mklabel",
                "mkpart",
                "rm",
                "resizepart",
                "--delete",
                "--wipe",
                "-w",
            ];
            let lists = args.iter().any(|a| LIST.contains(&a.as_str()));
            let edits = args.iter().any(|a| EDIT.contains(&a.as_str()));
            (!lists || edits).then(|| "it edits a disk's partition table".into())
        }
        "sgdisk" => args
            .iter()
            .any(|a| {
                a.starts_with("--zap")
                    || a.starts_with("--clear")
                    || a.starts_with("--delete")
                    || a.starts_with("--new")
                    || (a.starts_with('-')
                        && !a.starts_with("--")
                        && a[1..].contains(['Z', 'z', 'o', 'd', 'n']))
            })
            .then(|| "it destroys or rewrites a partition table".into()),
        "chmod" => dangerous_chmod(args),
        "chown" | "chgrp" => {
            let (options, operands) = split_args(args);
            let recursive = has_flag(&options, 'R', "recursive");
            let targets = operands.get(1..).unwrap_or(&[]);
            targets.iter().find_map(|t| {
                let s = scope(t);
                ((recursive && s == Scope::Critical) || normalize_path(t) == "/")
                    .then(|| format!("it changes the ownership of {} recursively", s.describe()))
            })
        }
        "mv" => {
            let (_, operands) = split_args(args);
            let sources = &operands[..operands.len().saturating_sub(1)];
            sources
                .iter()
                .find(|s| scope(s) == Scope::Critical)
                .map(|_| "it moves a system or home directory away".into())
        }
        "tee" | "cp" => {
            let (_, operands) = split_args(args);
            let targets: Vec<&str> = if name == "tee" {
                operands
            } else {
                operands.last().copied().into_iter().collect()
            };
            targets
                .into_iter()
                .find(|t| is_disk_device(t))
                .map(|t| format!("it writes directly to the disk device {t}"))
        }
        _ => None,
    }
}

fn dangerous_rm(args: &[String]) -> Option<String> {
    let (options, operands) = split_args(args);
    if options.contains(&"--no-preserve-root") {
        return Some(
            "it deletes with --no-preserve-root, which disables rm's protection of /".into(),
        );
    }
    let recursive = has_flag(&options, 'r', "recursive") || has_flag(&options, 'R', "recursive");
    let force = has_flag(&options, 'f', "force");
    for target in operands {
        let s = scope(target);
        let hit = match s {
            Scope::Critical => true,
            Scope::Relative => false,
            _ => recursive,
        };
        if hit {
            let how = match (recursive, force) {
                (true, true) => "recursively and forcibly ",
                (true, false) => "recursively ",
                _ => "",
            };
            return Some(format!("it deletes files {how}under {}", s.describe()));
        }
    }
    None
}

/// True when a chmod mode gives everyone write access (`777`, `o+w`, `a+rwx`, `=rwx`…).
fn world_writable(mode: &str) -> bool {
    if !mode.is_empty() && mode.chars().all(|c| c.is_ascii_digit()) {
        return mode
            .chars()
            .last()
            .and_then(|c| c.to_digit(8))
            .is_some_and(|others| others & 2 != 0);
    }
    mode.split(',').any(|clause| {
        let who: String = clause.chars().take_while(|c| "ugoa".contains(*c)).collect();
        let rest = &clause[who.len()..];
        let (op, perms) = rest.split_at(rest.len().min(1));
        (op == "+" || op == "=")
            && perms.contains('w')
            && (who.contains('o') || who.contains('a') || (who.is_empty() && op == "="))
    })
}

fn dangerous_chmod(args: &[String]) -> Option<String> {
    // Symbolic modes may start with `-` (`-w`): only letters chmod knows as options count.
    let mut recursive = false;
    let mut operands = Vec::new();
    for a in args {
        let is_option = a.starts_with("--")
            || (a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "RcfvHLP".contains(c)));
        if is_option {
            recursive |= a == "--recursive" || (!a.starts_with("--") && a.contains('R'));
        } else {
            operands.push(a.as_str());
        }
    }
    let (mode, targets) = operands.split_first()?;
    let open = world_writable(mode);
    for t in targets {
        let s = scope(t);
        if recursive && open {
            return Some(format!(
                "it makes everything under {t} world-writable with mode {mode}"
            ));
        }
        if s == Scope::Critical && (recursive || open) {
            return Some(format!("it changes the permissions of {}", s.describe()));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Sensitive file writes
// ---------------------------------------------------------------------------------------------

const SYSTEM_DIRS: &[&str] = &[
    "/etc", "/usr", "/boot", "/sys", "/proc", "/root", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
];

const CREDENTIAL_DIRS: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.gnupg",
    "~/.config/gcloud",
    "~/.kube",
    "~/.docker",
    "~/.azure",
    "~/.config/gh",
    "~/.netrc",
    "~/.git-credentials",
    "~/.pypirc",
    "~/.npmrc",
];

const SECRET_NAMES: &[&str] = &[
    "authorized_keys",
    "known_hosts",
    "shadow",
    "gshadow",
    "passwd",
    "sudoers",
    "credentials",
    "credentials.json",
    ".netrc",
    ".git-credentials",
    ".pgpass",
    ".env",
];

const SECRET_EXTENSIONS: &[&str] = &[".pem", ".key", ".crt", ".p12", ".pfx", ".jks", ".keystore"];

const KEY_PREFIXES: &[&str] = &["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"];

/// Hidden directories that hold credentials wherever the home directory is: a relative path
/// through one (`.ssh/config` written from `~`, `../../.aws/config`) is as sensitive as `~/…`.
/// (Not `.docker`, `.kube`, `.azure`: projects keep such directories for their own files.)
const CREDENTIAL_DIR_NAMES: &[&str] = &[".ssh", ".aws", ".gnupg"];

/// What makes `path` sensitive to write, or `None`.
pub fn sensitive_path(path: &str) -> Option<String> {
    let p = normalize_path(path);
    let under = |dir: &str| p == dir || p.starts_with(&format!("{dir}/"));
    if let Some(dir) = SYSTEM_DIRS.iter().find(|d| under(d)) {
        return Some(format!("{path} is in the system directory {dir}"));
    }
    if let Some(dir) = CREDENTIAL_DIRS.iter().find(|d| under(d)) {
        return Some(format!("{path} is in {dir}, which holds credentials"));
    }
    // Every component but the last is a directory the file is in.
    let mut dirs: Vec<&str> = p.split('/').collect();
    dirs.pop();
    if let Some(dir) = dirs.iter().find(|c| CREDENTIAL_DIR_NAMES.contains(c)) {
        return Some(format!(
            "{path} is in a {dir} directory, which holds credentials"
        ));
    }
    let base = basename(&p);
    let env_file = base.strip_prefix(".env.").is_some_and(|suffix| {
        !matches!(
            suffix,
            "example" | "sample" | "template" | "dist" | "defaults"
        )
    });
    if SECRET_NAMES.contains(&base)
        || env_file
        || SECRET_EXTENSIONS
            .iter()
            .any(|e| base.ends_with(e) && base.len() > e.len())
        || KEY_PREFIXES.iter().any(|k| base.starts_with(k))
    {
        return Some(format!("{path} is a key, certificate or credential file"));
    }
    None
}

/// Why a tool call writes a sensitive file, or `None` (see the module doc).
pub fn sensitive_file_write(action: &ToolAction) -> Option<String> {
    let paths: Vec<String> = match action {
        ToolAction::WriteFiles { paths } => paths.clone(),
        ToolAction::Shell { script } => shell_writes(&analyze(script)),
        _ => return None,
    };
    paths
        .iter()
        .find_map(|p| sensitive_path(p))
        .map(|why| format!("it writes to a sensitive file: {why}"))
}

/// Options taking a separate value, per command, so their values are not read as paths.
fn operands_skipping(args: &[String], with_value: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let a = args[i].as_str();
        if only_operands {
            out.push(a.to_owned());
        } else if a == "--" {
            only_operands = true;
        } else if a.len() > 1 && a.starts_with('-') {
            if with_value.contains(&a) {
                i += 1;
            }
        } else {
            out.push(a.to_owned());
        }
        i += 1;
    }
    out
}

/// The value of an option given as `-o v`, `--opt v` or `--opt=v`.
fn option_values(args: &[String], names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if names.contains(&a.as_str()) {
            if let Some(v) = args.get(i + 1) {
                out.push(v.clone());
            }
        } else if let Some((k, v)) = a.split_once('=') {
            if names.contains(&k) {
                out.push(v.to_owned());
            }
        }
    }
    out
}

/// Every file a shell script writes, as far as its commands tell.
fn shell_writes(analysis: &Analysis) -> Vec<String> {
    let mut out = analysis.redirect_writes.clone();
    for inv in &analysis.invocations {
        let args = inv.args();
        match inv.name() {
            "tee" => out.extend(operands_skipping(args, &[])),
            "cp" | "install" | "ln" | "rsync" => {
                let targets = option_values(args, &["-t", "--target-directory"]);
                if !targets.is_empty() {
                    out.extend(targets);
                } else if inv.name() == "install" && args.iter().any(|a| a == "-d") {
                    out.extend(operands_skipping(
                        args,
                        &["-m", "-o", "-g", "--mode", "--owner", "--group"],
                    ));
                } else {
                    let ops = operands_skipping(
                        args,
                        &[
                            "-m", "-o", "-g", "-S", "-e", "--mode", "--owner", "--group",
                            "--suffix",
                        ],
                    );
                    if ops.len() >= 2 {
                        out.extend(ops.last().cloned());
                    }
                }
            }
            "mv" => {
                out.extend(option_values(args, &["-t", "--target-directory"]));
                out.extend(operands_skipping(args, &["-t", "-S", "--suffix"]));
            }
            "sed" => {
                let (options, _) = split_args(args);
                let in_place = options.iter().any(|o| {
                    o.starts_with("--in-place")
                        || (!o.starts_with("--")
                            && o[1..].starts_with(|c: char| c.is_ascii_alphabetic())
                            && o[1..].contains('i'))
                });
                if in_place {
                    let explicit_script = options
                        .iter()
                        .any(|o| matches!(*o, "-e" | "-f" | "--expression" | "--file"));
                    let ops =
                        operands_skipping(args, &["-e", "-f", "--expression", "--file", "-l"]);
                    let skip = usize::from(!explicit_script);
                    out.extend(ops.into_iter().skip(skip));
                }
            }
            "perl" => {
                let (options, _) = split_args(args);
                if options
                    .iter()
                    .any(|o| !o.starts_with("--") && o.contains('i'))
                {
                    let ops = operands_skipping(args, &["-e", "-E", "-M", "-I"]);
                    let has_e = options.iter().any(|o| o.contains('e') || o.contains('E'));
                    // Without -e the first operand is the program file.
                    out.extend(ops.into_iter().skip(usize::from(!has_e)));
                }
            }
            "rm" | "shred" | "unlink" | "touch" | "mkdir" | "rmdir" => {
                out.extend(operands_skipping(
                    args,
                    &[
                        "-m",
                        "--mode",
                        "-n",
                        "--iterations",
                        "-s",
                        "--size",
                        "-t",
                        "-d",
                        "-r",
                    ],
                ));
            }
            "truncate" => out.extend(operands_skipping(
                args,
                &["-s", "--size", "-r", "--reference"],
            )),
            "dd" => out.extend(
                args.iter()
                    .filter_map(|a| a.strip_prefix("of="))
                    .map(str::to_owned),
            ),
            "curl" => out.extend(option_values(args, &["-o", "--output"])),
            "wget" => {
                out.extend(option_values(args, &["-O", "--output-document"]));
                out.extend(option_values(args, &["-P", "--directory-prefix"]));
            }
            "tar" => {
                let extracting = args
                    .first()
                    .is_some_and(|a| !a.starts_with("--") && a.contains('x'))
                    || args.iter().any(|a| {
                        a == "--extract"
                            || a == "--get"
                            || (a.starts_with('-') && !a.starts_with("--") && a.contains('x'))
                    });
                if extracting {
                    out.extend(option_values(args, &["-C", "--directory"]));
                }
            }
            "unzip" => out.extend(option_values(args, &["-d"])),
            // `-l`, `-y`, `-F`, `-L` only read the key file.
            "ssh-keygen"
                if !args
                    .iter()
                    .any(|a| matches!(a.as_str(), "-l" | "-y" | "-F" | "-L" | "-lf" | "-yf")) =>
            {
                out.extend(option_values(args, &["-f"]));
            }
            "apply_patch" | "applypatch" => {
                let patch = args
                    .first()
                    .cloned()
                    .or_else(|| inv.stdin.clone())
                    .unwrap_or_default();
                out.extend(patch_paths(&patch));
            }
            "passwd" | "chpasswd" | "useradd" | "usermod" | "userdel" | "adduser" | "deluser"
            | "groupadd" | "groupmod" | "vipw" => out.push("/etc/passwd".into()),
            "visudo" => out.push("/etc/sudoers".into()),
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Web requests
// ---------------------------------------------------------------------------------------------

const NETWORK_TOOLS: &[&str] = &[
    "curl",
    "wget",
    "wget2",
    "curlie",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "ssh",
    "scp",
    "sftp",
    "ftp",
    "lftp",
    "tftp",
    "http",
    "https",
    "httpie",
    "xh",
    "xhs",
    "aria2c",
    "lynx",
    "w3m",
    "links",
    "elinks",
    "mosh",
    "rsh",
    "Invoke-WebRequest",
    "Invoke-RestMethod",
    "iwr",
    "irm",
];

static NETWORK_CODE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\burllib|\brequests\s*\.\s*(get|post|put|patch|delete|head|request|session)\b",
        r"|\bimport\s+requests\b|\bfrom\s+requests\b|\bhttp\.client\b|\bhttplib\b|\bhttpx\b|\baiohttp\b",
        r"|\bsocket\s*\.|\bimport\s+socket\b|\bwebsocket|\bfetch\s*\(|XMLHttpRequest|\baxios\b",
        r#"|require\s*\(\s*['"](https?|net|http2|node-fetch|axios|dgram|tls)['"]\s*\)"#,
        r#"|from\s+['"](node-fetch|axios|https?|node:https?)['"]"#,
        r"|\bnet\.connect|\bNet::HTTP|open-uri|\bLWP\b|LWP::|HTTP::Tiny|IO::Socket|\bSocket\b.*\bconnect\b",
        r"|\bcurl_(exec|init)\b|\bfsockopen\b|file_get_contents\s*\(\s*['\x22]https?:",
        r"|Deno\.connect|\bhttp\.(get|request)\s*\(|\bhttps\.(get|request)\s*\(|\bTCPSocket\b|\bURI\.open\b",
    ))
    .ok()
});

static POWERSHELL_WEB: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)Invoke-WebRequest|Invoke-RestMethod|\biwr\b|\birm\b|Net\.WebClient|Start-BitsTransfer|Net\.Sockets|HttpClient").ok()
});

fn is_interpreter(name: &str) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        stem,
        "python" | "pypy" | "node" | "nodejs" | "deno" | "bun" | "ruby" | "perl" | "php"
    )
}

/// Why a tool call makes a network request, or `None` (see the module doc).
pub fn web_request(action: &ToolAction) -> Option<String> {
    match action {
        ToolAction::WebFetch { url } => Some(format!("it fetches {url} from the web")),
        ToolAction::WebSearch { query } => Some(format!("it searches the web for {query:?}")),
        ToolAction::Shell { script } => web_request_in_shell(script),
        _ => None,
    }
}

fn web_request_in_shell(script: &str) -> Option<String> {
    let analysis = analyze(script);
    if let Some(t) = analysis
        .redirect_writes
        .iter()
        .chain(&analysis.redirect_reads)
        .find(|t| t.starts_with("/dev/tcp/") || t.starts_with("/dev/udp/"))
    {
        return Some(format!("it opens a network connection through {t}"));
    }
    analysis.invocations.iter().find_map(|inv| {
        web_invocation(inv).map(|why| format!("{why} ({})", shorten(&inv.display())))
    })
}

fn web_invocation(inv: &Invocation) -> Option<String> {
    let name = inv.name();
    let args = inv.args();
    let info_only = args
        .iter()
        .all(|a| matches!(a.as_str(), "--version" | "-V" | "--help" | "-h" | "version"));
    if NETWORK_TOOLS.contains(&name) {
        return (!info_only).then(|| format!("it makes a network request with {name}"));
    }
    if name == "rsync" {
        let (_, operands) = split_args(args);
        let remote = operands.iter().any(|o| {
            o.starts_with("rsync://")
                || o.split_once(':')
                    .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
        });
        return remote.then(|| "it copies files to or from a remote host with rsync".into());
    }
    if matches!(name, "powershell" | "pwsh" | "powershell.exe" | "pwsh.exe") {
        let joined = args.join(" ");
        return POWERSHELL_WEB
            .as_ref()
            .is_some_and(|r| r.is_match(&joined))
            .then(|| "it makes a web request from PowerShell".into());
    }
    if is_interpreter(name) {
        const INLINE: &[&str] = &["-c", "-e", "-E", "-r", "--eval", "-p", "--print", "-R"];
        let inline = (matches!(name, "deno" | "bun") && args.first().is_some_and(|a| a == "eval"))
            || args.iter().any(|a| {
                INLINE.contains(&a.as_str())
                    || (name.starts_with("perl")
                        && a.starts_with('-')
                        && !a.starts_with("--")
                        && a.contains('e'))
            });
        let (_, operands) = split_args(args);
        let from_stdin = operands.is_empty() || operands.first() == Some(&"-");
        let mut code = String::new();
        if inline {
            code.push_str(&args.join(" "));
        }
        if from_stdin || inline {
            if let Some(stdin) = &inv.stdin {
                code.push('\n');
                code.push_str(stdin);
            }
        }
        let hits = NETWORK_CODE.as_ref().is_some_and(|r| r.is_match(&code));
        return hits.then(|| format!("it runs {name} code that makes network requests"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(scope("/"), Scope::Critical);
        assert_eq!(scope("/etc/"), Scope::Critical);
        assert_eq!(scope("/*"), Scope::Critical);
        assert_eq!(scope("~"), Scope::Critical);
        assert_eq!(scope("$HOME/"), Scope::Critical);
        assert_eq!(scope("/home/alice"), Scope::Critical);
        assert_eq!(scope("/home/alice/proj"), Scope::Home);
        assert_eq!(scope("~/proj"), Scope::Home);
        assert_eq!(scope("/tmp/x"), Scope::Absolute);
        assert_eq!(scope("$DIR/"), Scope::Unknown);
        assert_eq!(scope("*"), Scope::Broad);
        assert_eq!(scope("./"), Scope::Broad);
        assert_eq!(scope("../x"), Scope::Broad);
        assert_eq!(scope("./build"), Scope::Relative);
        assert_eq!(scope("node_modules"), Scope::Relative);
    }

    #[test]
    fn world_writable_modes() {
        for m in [
            "777", "0777", "666", "a+rwx", "o+w", "ugo=rwx", "=rwx", "u+x,o+w",
        ] {
            assert!(world_writable(m), "{m}");
        }
        for m in ["755", "644", "+x", "u+rwx", "g+w", "700", "775"] {
            assert!(!world_writable(m), "{m}");
        }
    }

    #[test]
    fn sensitive_paths() {
        assert!(sensitive_path("/etc/hosts").is_some());
        assert!(sensitive_path("~/.ssh/authorized_keys").is_some());
        assert!(sensitive_path("/home/bob/.aws/credentials").is_some());
        assert!(sensitive_path("config/server.key").is_some());
        assert!(sensitive_path(".env.local").is_some());
        assert!(sensitive_path(".env.example").is_none());
        assert!(sensitive_path("src/keyboard.ts").is_none());
        assert!(sensitive_path("/tmp/out.txt").is_none());
        assert!(sensitive_path("/dev/null").is_none());
        assert!(sensitive_path(".ssh/config").is_some());
        assert!(sensitive_path("../../.aws/config").is_some());
        assert!(sensitive_path("/srv/git/.ssh/rc").is_some());
        assert!(sensitive_path("docs/.ssh.md").is_none());
        assert!(sensitive_path(".docker/compose.yml").is_none());
    }

    #[test]
    fn all_presets_compile() {
        for name in PRESET_NAMES {
            let policy = by_name(name).unwrap();
            assert!(policy.broken.is_none(), "{name}: {:?}", policy.broken);
        }
        assert!(NETWORK_CODE.is_some());
        assert!(POWERSHELL_WEB.is_some());
        assert!(is_disk_device("/dev/sda1"));
    }
}
