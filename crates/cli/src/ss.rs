//! `l4 ss`: the sockets of every layer4 runtime on this machine, with the columns
//! of `ss -tuna` and, with `-i`, the `tcp_info` of each connection.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use layer4_net::control::proto::{Request, Response, SocketRow, TcpInfoRow};

use crate::runtimes;

/// Arguments of `l4 ss`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// TCP sockets (default: TCP and UDP).
    #[arg(short = 't', long)]
    tcp: bool,
    /// UDP sockets (default: TCP and UDP).
    #[arg(short = 'u', long)]
    udp: bool,
    /// Only listening sockets (TCP LISTEN, unconnected UDP).
    #[arg(short = 'l', long)]
    listening: bool,
    /// All sockets, listening or not (default: only connections).
    #[arg(short = 'a', long)]
    all: bool,
    /// Numeric addresses and ports (accepted as `ss -n`; layer4 never resolves names).
    #[arg(short = 'n', long)]
    numeric: bool,
    /// TCP internals (`tcp_info`: rtt, rto, mss, cwnd, ssthresh, bytes, segments,
    /// retransmissions, delivery and pacing rates) under each connection.
    #[arg(short = 'i', long)]
    info: bool,
    /// One JSON document (the runtimes with their selected sockets) instead of the
    /// table.
    #[arg(long)]
    json: bool,
    /// Where the runtimes' control sockets are (default: $LAYER4_CONTROL_DIR, else
    /// /run/layer4).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl Args {
    fn wants(&self, s: &SocketRow) -> bool {
        let proto = match s.protocol.as_str() {
            "tcp" => self.tcp || !self.udp,
            "udp" => self.udp || !self.tcp,
            _ => false,
        };
        // As `ss`: "listening" is LISTEN for TCP, unconnected for UDP.
        let listening = match s.protocol.as_str() {
            "tcp" => s.state == "LISTEN",
            _ => s.state == "UNCONN",
        };
        let state = self.all || (listening == self.listening);
        proto && state
    }
}

/// Runs `l4 ss`.
pub fn run(args: &Args) -> ExitCode {
    let dir = runtimes::dir(args.dir.as_deref());
    let mut answers = match runtimes::ask_all(&dir, Request::Sockets) {
        Ok(a) => a,
        Err(e) => return crate::error(e),
    };
    for a in &mut answers {
        if let Some(rows) = &mut a.sockets {
            rows.retain(|s| args.wants(s));
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&answers) {
            Ok(s) => println!("{s}"),
            Err(e) => return crate::error(e),
        }
    } else {
        print!("{}", table(&answers, args.info));
    }
    ExitCode::SUCCESS
}

/// The `ss -tuna` table (and `-i` lines).
fn table(answers: &[Response], info: bool) -> String {
    let mut rows: Vec<[String; 7]> = Vec::new();
    let mut details: Vec<Option<String>> = Vec::new();
    for a in answers {
        let process = format!(
            "users:((\"{}\",pid={},runtime={}))",
            a.origin.process, a.origin.pid, a.origin.runtime
        );
        for s in a.sockets.iter().flatten() {
            let peer = match s.remote {
                Some(r) => r.to_string(),
                None if s.local.is_ipv4() => "0.0.0.0:*".to_string(),
                None => "[::]:*".to_string(),
            };
            rows.push([
                s.protocol.clone(),
                s.state.clone(),
                s.recv_q.to_string(),
                s.send_q.to_string(),
                s.local.to_string(),
                peer,
                process.clone(),
            ]);
            details.push(if info {
                s.tcp_info.as_ref().map(info_line)
            } else {
                None
            });
        }
    }
    let header = [
        "Netid",
        "State",
        "Recv-Q",
        "Send-Q",
        "Local Address:Port",
        "Peer Address:Port",
        "Process",
    ];
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 7]| {
        // Queues right-aligned, as ss prints them; the last column unpadded.
        let _ = writeln!(
            out,
            "{:<w0$} {:<w1$} {:>w2$} {:>w3$} {:<w4$} {:<w5$} {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4],
            w5 = width[5],
        );
    };
    line(&mut out, header);
    for (r, d) in rows.iter().zip(&details) {
        line(&mut out, [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]]);
        if let Some(d) = d {
            let _ = writeln!(out, "\t {d}");
        }
    }
    out
}

fn ms(us: u64) -> String {
    let s = format!("{:.3}", us as f64 / 1000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rate in bits per second, as `ss` prints it (`1.2Mbps`).
fn rate(bytes_per_sec: u64) -> String {
    let bps = bytes_per_sec as f64 * 8.0;
    if bps >= 1e9 {
        format!("{:.1}Gbps", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.1}Mbps", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.1}Kbps", bps / 1e3)
    } else {
        format!("{bps:.0}bps")
    }
}

/// The `ss -ti` detail line.
fn info_line(i: &TcpInfoRow) -> String {
    let mut s = String::new();
    if i.timestamps {
        s.push_str("ts ");
    }
    if i.sack {
        s.push_str("sack ");
    }
    if i.accecn {
        s.push_str("accecn ");
    } else if i.ecn {
        s.push_str("ecn ");
    }
    let _ = write!(s, "{} ", i.congestion_control);
    if let Some((snd, rcv)) = i.wscale {
        let _ = write!(s, "wscale:{snd},{rcv} ");
    }
    let _ = write!(s, "rto:{}", ms(i.rto_us));
    if let (Some(rtt), Some(var)) = (i.rtt_us, i.rttvar_us) {
        let _ = write!(s, " rtt:{}/{}", ms(rtt), ms(var));
    }
    let _ = write!(
        s,
        " mss:{} pmtu:{} rcvmss:{} advmss:{} cwnd:{}",
        i.snd_mss, i.pmtu, i.rcv_mss, i.advmss, i.cwnd
    );
    if let Some(ss) = i.ssthresh {
        let _ = write!(s, " ssthresh:{ss}");
    }
    let _ = write!(
        s,
        " bytes_sent:{} bytes_retrans:{} bytes_acked:{} bytes_received:{} segs_out:{} segs_in:{} data_segs_out:{} data_segs_in:{}",
        i.bytes_sent,
        i.bytes_retrans,
        i.bytes_acked,
        i.bytes_received,
        i.segs_out,
        i.segs_in,
        i.data_segs_out,
        i.data_segs_in
    );
    if i.pacing_rate > 0 {
        let _ = write!(s, " pacing_rate {}", rate(i.pacing_rate));
    }
    if i.delivery_rate > 0 {
        let _ = write!(s, " delivery_rate {}", rate(i.delivery_rate));
    }
    if i.unacked > 0 {
        let _ = write!(s, " unacked:{}", i.unacked);
    }
    let _ = write!(s, " retrans:{}/{}", i.retransmits, i.total_retrans);
    if i.lost > 0 {
        let _ = write!(s, " lost:{}", i.lost);
    }
    if i.sacked > 0 {
        let _ = write!(s, " sacked:{}", i.sacked);
    }
    if let Some(min) = i.min_rtt_us {
        let _ = write!(s, " minrtt:{}", ms(min));
    }
    let _ = write!(s, " rcv_space:{} snd_wnd:{}", i.rcv_space, i.snd_wnd);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_times_read_like_ss() {
        assert_eq!(rate(125_000), "1.0Mbps");
        assert_eq!(rate(1_500_000_000), "12.0Gbps");
        assert_eq!(ms(204_000), "204");
        assert_eq!(ms(512), "0.512");
    }
}
