//! The processes under test: starting them with their output in log files, stopping them by
//! pid (SIGTERM, then SIGKILL), and reading their CPU time and memory from `/proc`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a process gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A child process this benchmark started; stopped when dropped.
pub struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Proc {
    /// Starts `command` with stdout and stderr going to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        Ok(Self {
            name,
            child,
            log: log.to_owned(),
            stopped: false,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails, quoting the end of the log, if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            bail!("{} exited ({status}); its log ends:\n{tail}", self.name);
        }
        Ok(())
    }

    /// SIGTERM, a grace period, then SIGKILL; also kills `extra` pids (nginx workers) left behind.
    pub fn stop(&mut self, extra: &[u32]) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        signal(self.pid(), "TERM");
        let until = Instant::now() + STOP_GRACE;
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for &pid in extra {
            if Path::new(&format!("/proc/{pid}")).exists() {
                signal(pid, "KILL");
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(&[]);
    }
}

/// Sends a signal by pid through `kill(1)` (the crate forbids the unsafe `libc::kill`).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A free loopback port (the OS picks it; the socket is closed before the child binds it).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Clock ticks per second for `/proc/<pid>/stat` times.
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of a process (all its threads, live and exited), in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("malformed stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    Ok(utime + stime)
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// Resets a process's peak RSS (`VmHWM`) to its current RSS; false where the kernel refuses.
pub fn reset_peak(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The pids whose parent is `parent` (nginx's workers).
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let after = &s[s.rfind(')')? + 1..];
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// The processes that make up one proxy (nginx: master and workers), read together.
#[derive(Debug, Clone)]
pub struct Group {
    /// The pids, main process first.
    pub pids: Vec<u32>,
}

impl Group {
    /// CPU seconds used so far by all the processes.
    pub fn cpu_seconds(&self, ticks_per_second: f64) -> anyhow::Result<f64> {
        let mut ticks = 0;
        for &pid in &self.pids {
            ticks += cpu_ticks(pid)?;
        }
        Ok(ticks as f64 / ticks_per_second)
    }

    /// Sum of a `/proc/<pid>/status` field over the processes, KiB.
    pub fn sum_kib(&self, key: &str) -> anyhow::Result<u64> {
        let mut total = 0;
        for &pid in &self.pids {
            total += status_kib(pid, key)?;
        }
        Ok(total)
    }

    /// Resets every process's peak RSS; false if any reset failed.
    pub fn reset_peaks(&self) -> bool {
        self.pids.iter().all(|&pid| reset_peak(pid))
    }
}
