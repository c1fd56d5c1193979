//! Congestion control, shared by TCP and (later) QUIC: the [`CongestionControl`]
//! trait, byte-based and free of TCP specifics, and the controllers behind it.
//!
//! - [`rate`]: the delivery-rate estimator (draft-cheng-iccrg-delivery-rate-estimation)
//!   whose [`RateSample`] comes with every [`AckSample`];
//! - [`newreno`]: slow start and congestion avoidance of RFC 5681 with the NewReno
//!   recovery window of RFC 6582;
//! - [`cubic`]: CUBIC (RFC 9438), with
//! - [`hystart`]: HyStart++ (RFC 9406) in its initial slow start;
//! - [`bbr`]: BBRv3 (draft-ietf-ccwg-bbr), model-based: it paces at its bandwidth
//!   estimate and bounds the flight by the estimated BDP.
//!
//! # How a transport drives a controller
//!
//! The transport owns loss detection and recovery; the controller owns the window.
//! - every packet sent: [`CongestionControl::on_sent`];
//! - every acknowledgment of new data: [`CongestionControl::on_ack`] with an
//!   [`AckSample`] (bytes newly acknowledged, bytes in flight, RTT, the rate sample;
//!   `in_recovery` set while the transport repairs a loss, when the window must not
//!   grow);
//! - a loss that starts a recovery, an ECN echo, a retransmission timeout:
//!   [`CongestionControl::on_congestion_event`], once per event (a transport reacts at
//!   most once per round trip to losses and ECN echoes, and only to the first of
//!   back-to-back timeouts);
//! - the end of a recovery (the transport's recovery point acknowledged):
//!   [`CongestionControl::on_recovery_end`];
//! - a new segment size: [`CongestionControl::on_mtu_update`].
//!
//! TCP's NewReno fast recovery inflates the window by one segment per duplicate ACK
//! (RFC 6582), and a SACK recovery follows proportional rate reduction (RFC 6937);
//! that is the transport's recovery window and lives in the connection, not here,
//! so every controller gets the same recovery, unless it
//! [controls the recovery window](CongestionControl::controls_recovery_window)
//! itself (BBR).
//!
//! # Choosing a controller
//!
//! By name ([`CcAlgorithm::from_name`] for the built-in ones: `"newreno"`, `"cubic"`,
//! `"bbr"`), per stack
//! ([`TcpConfig::congestion_control`](crate::tcp::TcpConfig::congestion_control)) and
//! per socket (`Stack::tcp_set_congestion_control`). An own controller is registered
//! under a name in [`TcpConfig::custom_congestion_controls`](crate::tcp::TcpConfig)
//! with a [`CcFactory`].

pub mod bbr;
pub mod cubic;
pub mod hystart;
pub mod newreno;
pub mod rate;

use core::fmt;
use std::sync::Arc;

use crate::time::{Duration, Instant};

pub use bbr::{Bbr, BbrState};
pub use cubic::Cubic;
pub use hystart::HyStart;
pub use newreno::NewReno;
pub use rate::{DeliveryRateEstimator, RateSample, TxState};

/// What kind of congestion signal the transport saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CongestionKind {
    /// A loss detected by acknowledgments (duplicate ACKs, SACK, RACK): the start of
    /// a recovery.
    Loss,
    /// An ECN-Echo (RFC 3168) or an AccECN count of CE marks.
    Ecn,
    /// The retransmission timer expired (the first of back-to-back expiries).
    Timeout,
}

/// What one acknowledgment of new data tells the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckSample {
    /// Bytes newly acknowledged (cumulatively or selectively).
    pub newly_acked: usize,
    /// Bytes in flight before this acknowledgment.
    pub bytes_in_flight_before: usize,
    /// Bytes in flight after it: what the window is measured against (in a SACK
    /// recovery the RFC 6675 pipe, without the SACKed and the lost bytes).
    pub bytes_in_flight: usize,
    /// The RTT measured from this acknowledgment, if it gave one.
    pub rtt: Option<Duration>,
    /// The smoothed RTT (RFC 6298), once there is one.
    pub srtt: Option<Duration>,
    /// The smallest RTT seen.
    pub min_rtt: Option<Duration>,
    /// The delivery-rate sample, when a sent packet was newly delivered.
    pub rate: Option<RateSample>,
    /// Bytes delivered over the connection's life after this acknowledgment (the
    /// estimator's `C.delivered`), against which [`RateSample::prior_delivered`]
    /// counts round trips.
    pub delivered: u64,
    /// The transport is repairing a loss: the window must not grow.
    pub in_recovery: bool,
    /// The acknowledgment echoed congestion experienced (ECE), or, with Accurate
    /// ECN (RFC 9768), reported new CE marks.
    pub ece: bool,
    /// With Accurate ECN: the number of segments this acknowledgment newly reports
    /// CE-marked (the increase of the sender's `s.cep`); 0 with classic ECN, which
    /// can only say "some" (see [`ece`](Self::ece)).
    pub ce_marked: u32,
}

impl AckSample {
    /// A sample acknowledging `newly_acked` bytes, everything else empty.
    pub fn new(newly_acked: usize) -> AckSample {
        AckSample {
            newly_acked,
            bytes_in_flight_before: 0,
            bytes_in_flight: 0,
            rtt: None,
            srtt: None,
            min_rtt: None,
            rate: None,
            delivered: newly_acked as u64,
            in_recovery: false,
            ece: false,
            ce_marked: 0,
        }
    }

    /// Whether the data acknowledged was sent while the application, not the window,
    /// limited the sender.
    pub fn app_limited(&self) -> bool {
        self.rate.is_some_and(|r| r.is_app_limited)
    }
}

/// A congestion controller: byte-based, driven by the transport. See the
/// [module docs](self) for the order of the calls.
pub trait CongestionControl: fmt::Debug + Send {
    /// The controller's name as `ss` shows it (`"cubic"`).
    fn name(&self) -> &'static str;

    /// The congestion window in bytes.
    fn window(&self) -> usize;

    /// The slow-start threshold in bytes; `None` while it is still infinite.
    fn ssthresh(&self) -> Option<usize>;

    /// Whether the controller is in slow start.
    fn in_slow_start(&self) -> bool;

    /// The rate, in bytes per second, at which packets should leave; `None` when the
    /// controller does not pace.
    fn pacing_rate(&self) -> Option<u64> {
        None
    }

    /// A packet of `bytes` left at `now` with `bytes_in_flight` bytes in flight
    /// before it.
    fn on_sent(&mut self, now: Instant, bytes: usize, bytes_in_flight: usize) {
        let _ = (now, bytes, bytes_in_flight);
    }

    /// New data was acknowledged.
    fn on_ack(&mut self, now: Instant, sample: &AckSample);

    /// A congestion signal, with `bytes_in_flight` bytes outstanding when it came.
    fn on_congestion_event(&mut self, now: Instant, kind: CongestionKind, bytes_in_flight: usize);

    /// The recovery that a [`CongestionKind::Loss`] started is over: everything
    /// outstanding then is acknowledged; `bytes_in_flight` remain.
    fn on_recovery_end(&mut self, now: Instant, bytes_in_flight: usize) {
        let _ = (now, bytes_in_flight);
    }

    /// The last congestion event (of any kind) was spurious: the data thought lost
    /// was delivered (D-SACKs for every retransmission, RFC 2883; or an echoed
    /// timestamp older than the retransmission, RFC 3522). A controller that kept
    /// its state from before the event restores it (RFC 9438 section 4.9); the
    /// default keeps the reduced window.
    fn on_spurious_congestion_event(&mut self, now: Instant) {
        let _ = now;
    }

    /// The segment size changed to `mss` bytes.
    fn on_mtu_update(&mut self, mss: usize);

    /// Whether the controller sets the window itself during a loss recovery (BBR:
    /// packet conservation for a round, then its model), instead of the transport's
    /// recovery window (NewReno's inflation, proportional rate reduction), as Linux
    /// leaves the window to a controller with its own `cong_control`.
    fn controls_recovery_window(&self) -> bool {
        false
    }

    /// The path model of a model-based controller (BBR's bandwidth and min-RTT
    /// estimates and its mode), for `tcp_info`; `None` for a window-based one.
    fn model(&self) -> Option<CcModel> {
        None
    }

    /// Makes this controller the one `algorithm` would build with `params`, in
    /// place, and returns true; or returns false, changing nothing, when it cannot
    /// (it is not `algorithm`'s controller). A freed connection's controller is
    /// renewed for the next connection instead of being freed and allocated
    /// again. The default refuses. The stack calls this on its built-in
    /// controllers only: an application's own controller (registered in a
    /// [`CcRegistry`]) is dropped with its connection and always built afresh
    /// by its factory, whether or not it overrides this method.
    fn renew(&mut self, algorithm: CcAlgorithm, params: &CcParams) -> bool {
        let _ = (algorithm, params);
        false
    }
}

/// What a model-based controller estimates of the path (`ss -ti` shows BBR's as
/// `bbr:(bw:…,mrtt:…,pacing_gain:…,cwnd_gain:…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcModel {
    /// The controller's mode (`"startup"`, `"probe_bw_cruise"`, …).
    pub mode: &'static str,
    /// The bandwidth the controls use, bytes per second (BBR's `bw`).
    pub bandwidth: u64,
    /// The windowed maximum bandwidth, bytes per second (BBR's `max_bw`).
    pub max_bandwidth: u64,
    /// The windowed minimum RTT (BBR's `min_rtt`), once measured.
    pub min_rtt: Option<Duration>,
    /// The pacing gain now, in percent.
    pub pacing_gain_percent: u32,
    /// The cwnd gain now, in percent.
    pub cwnd_gain_percent: u32,
}

/// What a controller is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcParams {
    /// Bytes per full-sized segment.
    pub mss: usize,
    /// The initial window in segments.
    pub initial_window: u32,
    /// A per-connection seed from the stack's seeded generator, for a controller
    /// that randomizes (BBR's probe timing).
    pub seed: u64,
}

/// Makes controllers of an own algorithm.
pub type CcFactory = Arc<dyn Fn(&CcParams) -> Box<dyn CongestionControl> + Send + Sync>;

/// The longest controller name (Linux's `TCP_CA_NAME_MAX` is 16 with the NUL).
pub const MAX_NAME_LEN: usize = 15;

/// Own controllers, registered by name.
#[derive(Clone, Default)]
pub struct CcRegistry {
    entries: Vec<(String, CcFactory)>,
}

impl CcRegistry {
    /// An empty registry.
    pub fn new() -> CcRegistry {
        CcRegistry::default()
    }

    /// Registers `factory` under `name`, replacing an earlier one of that name. The
    /// built-in names cannot be taken, and a name is 1 to [`MAX_NAME_LEN`] bytes.
    pub fn register(&mut self, name: &str, factory: CcFactory) -> Result<(), CcError> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(CcError::BadName(name.to_string()));
        }
        if BUILT_IN.contains(&name) {
            return Err(CcError::Reserved(name.to_string()));
        }
        if self.entries.len() >= usize::from(u16::MAX) && self.index_of(name).is_none() {
            return Err(CcError::BadName(name.to_string()));
        }
        if let Some(e) = self.entries.iter_mut().find(|(n, _)| n == name) {
            e.1 = factory;
        } else {
            self.entries.push((name.to_string(), factory));
        }
        Ok(())
    }

    /// The registered names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    fn index_of(&self, name: &str) -> Option<u16> {
        self.entries
            .iter()
            .position(|(n, _)| n == name)
            .and_then(|i| u16::try_from(i).ok())
    }
}

impl fmt::Debug for CcRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl PartialEq for CcRegistry {
    fn eq(&self, other: &CcRegistry) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|(a, b)| a.0 == b.0 && Arc::ptr_eq(&a.1, &b.1))
    }
}

impl Eq for CcRegistry {}

/// The names the stack knows itself.
const BUILT_IN: [&str; 3] = ["newreno", "cubic", "bbr"];

/// A controller chosen by name, resolved against a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CcAlgorithm {
    /// NewReno (RFC 5681, RFC 6582).
    NewReno,
    /// CUBIC (RFC 9438) with HyStart++ (RFC 9406).
    Cubic,
    /// BBRv3 (draft-ietf-ccwg-bbr).
    Bbr,
    /// The registry's entry at this index.
    Custom(u16),
}

impl CcAlgorithm {
    /// The built-in controller called `name`, or why there is none: an own controller
    /// needs [`CcAlgorithm::resolve`].
    pub fn from_name(name: &str) -> Result<CcAlgorithm, CcError> {
        match name {
            "newreno" | "reno" => Ok(CcAlgorithm::NewReno),
            "cubic" => Ok(CcAlgorithm::Cubic),
            "bbr" => Ok(CcAlgorithm::Bbr),
            _ => Err(CcError::Unknown(name.to_string())),
        }
    }

    /// `name` among the built-in controllers and `registry`.
    pub fn resolve(name: &str, registry: &CcRegistry) -> Result<CcAlgorithm, CcError> {
        match CcAlgorithm::from_name(name) {
            Err(CcError::Unknown(_)) => registry
                .index_of(name)
                .map(CcAlgorithm::Custom)
                .ok_or_else(|| CcError::Unknown(name.to_string())),
            other => other,
        }
    }

    /// The name of a built-in controller (`None` for an own one).
    pub fn builtin_name(self) -> Option<&'static str> {
        match self {
            CcAlgorithm::NewReno => Some("newreno"),
            CcAlgorithm::Cubic => Some("cubic"),
            CcAlgorithm::Bbr => Some("bbr"),
            CcAlgorithm::Custom(_) => None,
        }
    }

    /// A new controller of this algorithm. An index the registry does not hold (a
    /// registry changed under a socket) falls back to CUBIC.
    pub fn build(self, registry: &CcRegistry, params: &CcParams) -> Box<dyn CongestionControl> {
        match self {
            CcAlgorithm::NewReno => Box::new(NewReno::new(params.mss, params.initial_window)),
            CcAlgorithm::Cubic => Box::new(Cubic::new(params.mss, params.initial_window)),
            CcAlgorithm::Bbr => Box::new(Bbr::new(params.mss, params.initial_window, params.seed)),
            CcAlgorithm::Custom(i) => match registry.entries.get(usize::from(i)) {
                Some((_, factory)) => factory(params),
                None => Box::new(Cubic::new(params.mss, params.initial_window)),
            },
        }
    }
}

/// Why a controller name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcError {
    /// No controller has this name.
    Unknown(String),
    /// The name is reserved for a controller not yet implemented (none is now).
    NotImplemented(&'static str),
    /// A built-in name cannot be registered.
    Reserved(String),
    /// A name must have 1 to [`MAX_NAME_LEN`] bytes.
    BadName(String),
}

impl fmt::Display for CcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CcError::Unknown(n) => write!(f, "unknown congestion control {n:?}"),
            CcError::NotImplemented(n) => {
                write!(f, "congestion control {n:?} is not yet implemented")
            }
            CcError::Reserved(n) => write!(f, "congestion control name {n:?} is built in"),
            CcError::BadName(n) => write!(
                f,
                "congestion control name {n:?} must have 1 to {MAX_NAME_LEN} bytes"
            ),
        }
    }
}

impl core::error::Error for CcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(usize);

    impl CongestionControl for Fixed {
        fn name(&self) -> &'static str {
            "fixed"
        }
        fn window(&self) -> usize {
            self.0
        }
        fn ssthresh(&self) -> Option<usize> {
            None
        }
        fn in_slow_start(&self) -> bool {
            false
        }
        fn on_ack(&mut self, _: Instant, _: &AckSample) {}
        fn on_congestion_event(&mut self, _: Instant, _: CongestionKind, _: usize) {}
        fn on_mtu_update(&mut self, _: usize) {}
    }

    fn params() -> CcParams {
        CcParams {
            mss: 1000,
            initial_window: 10,
            seed: 7,
        }
    }

    #[test]
    fn built_in_names_resolve_to_their_controllers() {
        let reg = CcRegistry::new();
        assert_eq!(CcAlgorithm::resolve("cubic", &reg), Ok(CcAlgorithm::Cubic));
        assert_eq!(
            CcAlgorithm::resolve("newreno", &reg),
            Ok(CcAlgorithm::NewReno)
        );
        assert_eq!(CcAlgorithm::resolve("bbr", &reg), Ok(CcAlgorithm::Bbr));
        let bbr = CcAlgorithm::Bbr.build(&reg, &params());
        assert_eq!(bbr.name(), "bbr");
        assert_eq!(bbr.window(), 10_000);
        assert!(bbr.pacing_rate().is_some() && bbr.model().is_some());
        assert_eq!(
            CcAlgorithm::resolve("vegas", &reg),
            Err(CcError::Unknown("vegas".into()))
        );
        let cubic = CcAlgorithm::Cubic.build(&reg, &params());
        assert_eq!(cubic.name(), "cubic");
        assert_eq!(cubic.window(), 10_000);
        assert_eq!(
            CcAlgorithm::NewReno.build(&reg, &params()).name(),
            "newreno"
        );
    }

    #[test]
    fn an_own_controller_is_made_by_its_factory() {
        let mut reg = CcRegistry::new();
        reg.register(
            "fixed",
            Arc::new(|p: &CcParams| Box::new(Fixed(p.mss * 3)) as _),
        )
        .unwrap();
        let alg = CcAlgorithm::resolve("fixed", &reg).unwrap();
        assert_eq!(alg, CcAlgorithm::Custom(0));
        let cc = alg.build(&reg, &params());
        assert_eq!((cc.name(), cc.window()), ("fixed", 3000));
        assert_eq!(format!("{reg:?}"), "[\"fixed\"]");
    }

    #[test]
    fn built_in_and_overlong_names_cannot_be_registered() {
        let mut reg = CcRegistry::new();
        let f: CcFactory = Arc::new(|p: &CcParams| Box::new(Fixed(p.mss)) as _);
        assert_eq!(
            reg.register("cubic", f.clone()),
            Err(CcError::Reserved("cubic".into()))
        );
        assert!(matches!(
            reg.register("a-very-long-controller-name", f.clone()),
            Err(CcError::BadName(_))
        ));
        assert!(matches!(reg.register("", f), Err(CcError::BadName(_))));
    }
}
