//! Time for the harnesses: [`Clock`] (wall time since the run started, in the units the
//! stacks want) and [`StallGuard`] (gives up when nothing moves).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::BenchError;

/// Time since the run started, in the units the stacks want. By default wall time:
/// both stacks get real time, so their timers (delayed ACK, retransmission) behave as
/// they would on a real host. A [`stepped`](Clock::stepped) clock instead advances by a
/// fixed step at every reading, so that a run does the same work whatever the speed of
/// the machine it runs on, or of the tool measuring it (`valgrind` slows a run down
/// 50-fold, and with wall time more timers then come due than in a native run).
#[derive(Clone, Debug)]
pub struct Clock {
    origin: Instant,
    /// The step in nanoseconds and the readings so far, for a stepped clock
    /// (integers: a reading is one multiplication, not `Duration` arithmetic
    /// in the benchmark loop's code).
    stepped: Option<(u64, Cell<u64>)>,
}

impl Clock {
    /// A wall clock starting now.
    pub fn start() -> Self {
        Clock {
            origin: Instant::now(),
            stepped: None,
        }
    }

    /// A clock that reads `step` later at every reading, starting at zero.
    pub fn stepped(step: Duration) -> Self {
        Clock {
            origin: Instant::now(),
            stepped: Some((
                u64::try_from(step.as_nanos()).unwrap_or(u64::MAX),
                Cell::new(0),
            )),
        }
    }

    /// [`stepped`](Clock::stepped) when `step` is given, else [`start`](Clock::start).
    pub fn new(step: Option<Duration>) -> Self {
        step.map_or_else(Clock::start, Clock::stepped)
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        match &self.stepped {
            None => self.origin.elapsed(),
            Some((step, readings)) => Duration::from_nanos(step_reading(*step, readings)),
        }
    }

    /// Microseconds since the start (smoltcp's `Instant::from_micros`).
    pub fn micros(&self) -> i64 {
        match &self.stepped {
            None => self.origin.elapsed().as_micros() as i64,
            Some((step, readings)) => (step_reading(*step, readings) / 1_000) as i64,
        }
    }

    /// Nanoseconds since the start (layer4's `Instant`).
    pub fn nanos(&self) -> u64 {
        match &self.stepped {
            None => self.origin.elapsed().as_nanos() as u64,
            Some((step, readings)) => step_reading(*step, readings),
        }
    }
}

/// The next reading of a stepped clock of `step` nanoseconds that has been read
/// `readings` times: the step times the readings (at most `u32::MAX` of them),
/// saturating at `u64::MAX` nanoseconds (584 years).
fn step_reading(step: u64, readings: &Cell<u64>) -> u64 {
    let n = readings.get() + 1;
    readings.set(n);
    step.saturating_mul(n.min(u64::from(u32::MAX)))
}

/// Time this thread has spent running on a CPU (`CLOCK_THREAD_CPUTIME_ID`, through
/// `layer4_net::runtime::thread_cpu_time`), if the platform reports it. When another
/// process shares the core, wall time grows but this does not, so a figure per
/// on-CPU second shows what the stack would do with the core to itself. (Until
/// session 13 this read `/proc/thread-self/schedstat`, which the kernel brings up to
/// date only at scheduler ticks: a 17 ms run could read "on CPU 116 %".)
pub fn thread_cpu_time() -> Option<Duration> {
    layer4_net::runtime::thread_cpu_time().ok()
}

/// Measures wall time and on-CPU time of this thread from its creation.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    /// Start measuring now.
    pub fn start() -> Self {
        Stopwatch {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    /// Wall time and on-CPU time since the start.
    pub fn stop(&self) -> (Duration, Option<Duration>) {
        let cpu = thread_cpu_time()
            .zip(self.cpu)
            .map(|(now, then)| now.saturating_sub(then));
        (self.wall.elapsed(), cpu)
    }
}

/// Fails a run when its progress counter stops moving for `limit`.
#[derive(Debug)]
pub struct StallGuard {
    phase: &'static str,
    limit: Duration,
    last: u64,
    since: Duration,
}

impl StallGuard {
    /// A guard for `phase` that allows `limit` without progress.
    pub fn new(phase: &'static str, limit: Duration) -> Self {
        StallGuard {
            phase,
            limit,
            last: 0,
            since: Duration::ZERO,
        }
    }

    /// Report the progress counter (bytes, connections, ...) at `now` (the harness's
    /// [`Clock::elapsed`]); errors once it has not changed for the limit.
    pub fn check(&mut self, progress: u64, now: Duration) -> Result<(), BenchError> {
        if progress != self.last {
            self.last = progress;
            self.since = now;
        } else if now.saturating_sub(self.since) > self.limit {
            return Err(BenchError::Stalled {
                phase: self.phase,
                secs: self.limit.as_secs(),
                detail: format!("progress counter stuck at {progress}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stepped_clock_advances_one_step_per_reading_whatever_the_wall_clock() {
        let c = Clock::stepped(Duration::from_nanos(250));
        assert_eq!(c.nanos(), 250);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.nanos(), 500);
        assert_eq!(c.micros(), 0); // 750 ns
        assert_eq!(c.elapsed(), Duration::from_nanos(1000));
        assert!(Clock::new(None).stepped.is_none());
        // The readings as `Duration` arithmetic gives them.
        let step = Duration::from_nanos(1_234_567);
        let c = Clock::stepped(step);
        for n in 1..=5u32 {
            assert_eq!(c.elapsed(), step * n);
        }
        assert_eq!(c.nanos(), (step * 6).as_nanos() as u64);
        assert_eq!(c.micros(), (step * 7).as_micros() as i64);
    }

    #[test]
    fn busy_loop_uses_cpu_time_on_linux() {
        let sw = Stopwatch::start();
        let mut x = 0u64;
        while sw.stop().0 < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let (wall, cpu) = sw.stop();
        if cfg!(target_os = "linux") {
            let cpu = cpu.unwrap();
            assert!(cpu > Duration::ZERO && cpu <= wall + Duration::from_millis(5));
        }
    }

    #[test]
    fn guard_without_progress_fails_after_limit() {
        let mut g = StallGuard::new("test", Duration::from_secs(1));
        assert!(g.check(0, Duration::from_millis(500)).is_ok());
        let r = g.check(0, Duration::from_millis(1500));
        assert!(matches!(r, Err(BenchError::Stalled { phase: "test", .. })));
    }

    #[test]
    fn guard_with_progress_never_fails() {
        let mut g = StallGuard::new("test", Duration::from_secs(1));
        assert!((1..5000u64)
            .try_for_each(|i| g.check(i, Duration::from_secs(i)))
            .is_ok());
    }
}
