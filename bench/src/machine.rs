//! What the results are stamped with: date, commit and the machine they were measured on.

use std::fs;
use std::path::Path;
use std::process::Command;

/// The run's provenance.
#[derive(Debug, Clone)]
pub struct Machine {
    /// UTC date and time of the run.
    pub date: String,
    /// `git rev-parse --short HEAD`, with a note when tracked files have uncommitted changes.
    pub commit: String,
    /// `nproc`.
    pub nproc: String,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu: String,
    /// Total memory from `/proc/meminfo`.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
}

/// The trimmed stdout of a command, if it ran and succeeded.
fn output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Machine {
    /// Reads everything, with the git repository at `repo`. Unknown values say so.
    pub fn probe(repo: &Path) -> Self {
        let unknown = || "unknown".to_owned();
        let mut commit =
            output("git", &["rev-parse", "--short", "HEAD"], repo).unwrap_or_else(unknown);
        // Read-only: lists modified tracked files, so the table says when the tree was dirty.
        if output(
            "git",
            &["status", "--porcelain", "--untracked-files=no"],
            repo,
        )
        .is_some_and(|s| !s.is_empty())
        {
            commit.push_str(" (with uncommitted changes)");
        }
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(unknown);
        let memory = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                let kib: f64 = s
                    .lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            })
            .unwrap_or_else(unknown);
        let here = Path::new(".");
        Self {
            date: output("date", &["-u", "+%Y-%m-%d %H:%M UTC"], here).unwrap_or_else(unknown),
            commit,
            nproc: output("nproc", &[], here).unwrap_or_else(unknown),
            cpu,
            memory,
            kernel: output("uname", &["-r"], here).unwrap_or_else(unknown),
        }
    }
}
