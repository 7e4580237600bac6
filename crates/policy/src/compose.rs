//! Composition: `serial` (each policy sees the previous one's output) and `parallel` (held
//! blocks are judged concurrently; the most severe verdict wins and the rest are cancelled once
//! a block is certain). Each member decides under its own deadline and fail mode.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::error::PolicyError;
use crate::policy::{
    Block, BlockKind, Decision, DecisionContext, DeltaTransform, FailMode, Need, Policy,
    RequestVerdict, Verdict,
};
use crate::request::PolicyRequest;

/// How members are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In order, each on the previous one's output.
    Serial,
    /// Concurrently, most severe verdict wins.
    Parallel,
}

/// Several policies acting as one.
pub struct Composite {
    mode: Mode,
    members: Vec<Arc<dyn Policy>>,
}

impl Composite {
    /// Combines `members` in `mode`.
    pub fn new(mode: Mode, members: Vec<Arc<dyn Policy>>) -> Self {
        Self { mode, members }
    }
}

/// One member's decision under its deadline and fail mode.
async fn decide_member(p: &dyn Policy, ctx: &DecisionContext, block: &Block) -> Decision {
    match tokio::time::timeout(p.deadline(), p.decide(ctx, block)).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => fail(p, &e.to_string()),
        Err(_) => fail(
            p,
            &format!("no decision within {} ms", p.deadline().as_millis()),
        ),
    }
}

fn fail(p: &dyn Policy, reason: &str) -> Decision {
    match p.fail_mode() {
        FailMode::FailOpen => Decision {
            rationale: Some(format!("{} unavailable: {reason}", p.name())),
            ..Decision::pass()
        },
        FailMode::FailClosed => Decision {
            rationale: Some(reason.to_owned()),
            ..Decision::of(Verdict::Block {
                message: format!(
                    "Luthien blocked this because the {} check was unavailable ({reason}).",
                    p.name()
                ),
            })
        },
    }
}

/// Applies a streaming policy's transform to a whole text (a buffered block has no deltas).
pub(crate) fn transform_whole(p: &dyn Policy, block: Block) -> Block {
    match block {
        Block::Text { text } => match p.transform(BlockKind::Text) {
            Some(mut t) => {
                let mut out = t.push(&text);
                out.push_str(&t.finish());
                Block::Text { text: out }
            }
            None => Block::Text { text },
        },
        other => other,
    }
}

/// Chains several transforms, each fed the previous one's output.
struct Chained(Vec<Box<dyn DeltaTransform>>);

impl DeltaTransform for Chained {
    fn push(&mut self, delta: &str) -> String {
        self.0
            .iter_mut()
            .fold(delta.to_owned(), |text, t| t.push(&text))
    }
    fn finish(&mut self) -> String {
        let mut carried = String::new();
        for t in &mut self.0 {
            let mut out = t.push(&carried);
            out.push_str(&t.finish());
            carried = out;
        }
        carried
    }
}

#[async_trait]
impl Policy for Composite {
    fn name(&self) -> String {
        let names: Vec<String> = self.members.iter().map(|m| m.name()).collect();
        match self.mode {
            Mode::Serial => format!("serial({})", names.join(", ")),
            Mode::Parallel => format!("parallel({})", names.join(", ")),
        }
    }

    async fn on_request(&self, req: &mut PolicyRequest) -> Result<RequestVerdict, PolicyError> {
        // Request hooks run in order in both modes: a modification must be seen by the next.
        for m in &self.members {
            match m.on_request(req).await? {
                RequestVerdict::Pass => {}
                other => return Ok(other),
            }
        }
        Ok(RequestVerdict::Pass)
    }

    fn need(&self, kind: BlockKind) -> Need {
        self.members
            .iter()
            .map(|m| m.need(kind))
            .max()
            .unwrap_or(Need::Forward)
    }

    fn transform(&self, kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        let ts: Vec<Box<dyn DeltaTransform>> = self
            .members
            .iter()
            .filter(|m| m.need(kind) == Need::Stream)
            .filter_map(|m| m.transform(kind))
            .collect();
        (!ts.is_empty()).then(|| Box::new(Chained(ts)) as Box<dyn DeltaTransform>)
    }

    async fn decide(&self, ctx: &DecisionContext, block: &Block) -> Result<Decision, PolicyError> {
        match self.mode {
            Mode::Serial => Ok(self.decide_serial(ctx, block).await),
            Mode::Parallel => Ok(self.decide_parallel(ctx, block).await),
        }
    }

    fn fail_mode(&self) -> FailMode {
        // Members apply their own fail modes; this one only covers the composite's overall deadline.
        if self
            .members
            .iter()
            .any(|m| m.fail_mode() == FailMode::FailClosed)
        {
            FailMode::FailClosed
        } else {
            FailMode::FailOpen
        }
    }

    fn deadline(&self) -> Duration {
        let each = self.members.iter().map(|m| m.deadline());
        match self.mode {
            Mode::Serial => each.sum::<Duration>() + Duration::from_secs(1),
            Mode::Parallel => each.max().unwrap_or_default() + Duration::from_secs(1),
        }
    }
}

impl Composite {
    async fn decide_serial(&self, ctx: &DecisionContext, block: &Block) -> Decision {
        let mut current = vec![block.clone()];
        let mut last = Decision::pass();
        let mut changed = false;
        for m in &self.members {
            let mut next = Vec::new();
            for b in current {
                match m.need(b.kind()) {
                    Need::Forward => next.push(b),
                    Need::Stream => {
                        let t = transform_whole(m.as_ref(), b.clone());
                        changed |= t != b;
                        next.push(t);
                    }
                    Need::Hold => {
                        let d = decide_member(m.as_ref(), ctx, &b).await;
                        match &d.verdict {
                            Verdict::Pass => next.push(b),
                            Verdict::Replace(bs) => {
                                changed = true;
                                next.extend(bs.iter().cloned());
                            }
                            Verdict::Block { .. } => return d,
                        }
                        if d.score.is_some() || d.rationale.is_some() {
                            last = d;
                        }
                    }
                }
            }
            current = next;
        }
        Decision {
            verdict: if changed {
                Verdict::Replace(current)
            } else {
                Verdict::Pass
            },
            ..last
        }
    }

    async fn decide_parallel(&self, ctx: &DecisionContext, block: &Block) -> Decision {
        let held: Vec<(usize, &Arc<dyn Policy>)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.need(block.kind()) == Need::Hold)
            .collect();
        let mut pending: FuturesUnordered<_> = held
            .into_iter()
            .map(|(i, m)| async move { (i, decide_member(m.as_ref(), ctx, block).await) })
            .collect();
        let mut best: Option<(usize, Decision)> = None;
        while let Some((i, d)) = pending.next().await {
            if matches!(d.verdict, Verdict::Block { .. }) {
                // Certain: dropping `pending` cancels the judges still running.
                return d;
            }
            let better = match &best {
                None => true,
                Some((j, b)) => {
                    d.verdict.severity() > b.verdict.severity()
                        || (d.verdict.severity() == b.verdict.severity() && i < *j)
                }
            };
            if better {
                best = Some((i, d));
            }
        }
        let decided = best.map(|(_, d)| d).unwrap_or_else(Decision::pass);
        // Streaming members still transform the (possibly replaced) text.
        let streamers: Vec<&Arc<dyn Policy>> = self
            .members
            .iter()
            .filter(|m| m.need(BlockKind::Text) == Need::Stream)
            .collect();
        if streamers.is_empty() {
            return decided;
        }
        let blocks = match &decided.verdict {
            Verdict::Pass => vec![block.clone()],
            Verdict::Replace(bs) => bs.clone(),
            Verdict::Block { .. } => return decided,
        };
        let out: Vec<Block> = blocks
            .into_iter()
            .map(|b| {
                streamers
                    .iter()
                    .fold(b, |b, m| transform_whole(m.as_ref(), b))
            })
            .collect();
        let verdict = if out.len() == 1 && &out[0] == block {
            Verdict::Pass
        } else {
            Verdict::Replace(out)
        };
        Decision { verdict, ..decided }
    }
}
