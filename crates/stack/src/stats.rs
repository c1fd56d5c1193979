//! The stack's counters, named like `netstat -s` / `nstat` (the SNMP MIB names Linux
//! prints under `Tcp:`, `Udp:`, `Ip:`, `Icmp:`, `Icmp6:`).

/// `Tcp:` counters (RFC 4022 names, plus Linux's `TcpExt` ones used here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections that went CLOSED -> SYN-SENT (connect).
    pub active_opens: u64,
    /// Connections that went LISTEN -> SYN-RECEIVED.
    pub passive_opens: u64,
    /// Connections that went from SYN-SENT or SYN-RECEIVED to CLOSED (or from
    /// SYN-RECEIVED back to LISTEN), except a listener's half-open connection
    /// an ICMP error dropped, which is one of `listen_drops` only (Linux's
    /// `tcp_req_err`), and one whose SYN-ACK retries ran out, which Linux's
    /// `reqsk_timer_handler` drops uncounted.
    pub attempt_fails: u64,
    /// Connections reset from ESTABLISHED or CLOSE-WAIT.
    pub estab_resets: u64,
    /// Connections now in ESTABLISHED or CLOSE-WAIT.
    pub curr_estab: u64,
    /// Segments received, including those in error.
    pub in_segs: u64,
    /// Segments sent, excluding retransmissions.
    pub out_segs: u64,
    /// Segments retransmitted.
    pub retrans_segs: u64,
    /// Segments received in error (bad checksum, bad header, bad options).
    pub in_errs: u64,
    /// Segments sent with the RST flag.
    pub out_rsts: u64,
    /// Segments received with a bad checksum.
    pub in_csum_errors: u64,
    /// SYNs dropped because a listener's SYN queue was full, and half-open
    /// connections dropped for an ICMP port or protocol unreachable quoting their
    /// SYN-ACK, as Linux's `tcp_req_err` counts them (`TcpExt:ListenDrops`).
    pub listen_drops: u64,
    /// ICMP errors about a connection that quoted a sequence number it does not
    /// have in flight (RFC 5927), ignored (`TcpExt:OutOfWindowIcmps`).
    pub out_of_window_icmps: u64,
    /// Handshakes not completed because the accept queue was full
    /// (`TcpExt:ListenOverflows`).
    pub listen_overflows: u64,
    /// RSTs for no connection not sent because of the rate limit.
    pub rsts_rate_limited: u64,
    /// SYN-ACKs sent with a SYN cookie (`TcpExt:SyncookiesSent`).
    pub syncookies_sent: u64,
    /// ACKs with a valid SYN cookie (`TcpExt:SyncookiesRecv`).
    pub syncookies_recv: u64,
    /// ACKs whose SYN cookie was invalid or expired (`TcpExt:SyncookiesFailed`).
    pub syncookies_failed: u64,
    /// Times a connection's out-of-order data was dropped because the stack-wide
    /// bound (`TcpConfig::max_ooo_bytes_total`) was reached (`TcpExt:OfoPruned`).
    pub ofo_pruned: u64,
    /// Retransmission timer expiries, of SYNs and SYN-ACKs too: the sum of the
    /// connections' `ConnCounters::timeouts` (`TcpExt:TCPTimeouts`, which Linux
    /// counts at every expiry in `tcp_retransmit_timer` and `tcp_syn_ack_timeout`).
    pub timeouts: u64,
    /// Connections refused because `max_connections` was reached.
    pub connection_limit_drops: u64,
    /// Connections that left TIME-WAIT early for a new SYN (RFC 6191).
    pub time_wait_recycled: u64,
    /// TIME-WAIT records recycled before their time because the stack held
    /// `TcpConfig::time_wait_limit` of them (the oldest goes first; Linux counts its
    /// TIME-WAIT bucket overflow as `TcpExt:TCPTimeWaitOverflow`).
    pub time_wait_overflow: u64,
    /// Connections established with ECN negotiated (RFC 3168).
    pub ecn_negotiated: u64,
    /// Acceptable segments received with the CE codepoint on ECN connections.
    pub ecn_ce_received: u64,
    /// ACKs received with ECN-Echo.
    pub ecn_ece_received: u64,
    /// Segments sent with CWR.
    pub ecn_cwr_sent: u64,
    /// Window reductions in answer to ECN-Echo (classic ECN) or to an increase of
    /// the AccECN CE counter (at most one per round trip either way).
    pub ecn_reactions: u64,
    /// Connections established with Accurate ECN negotiated (RFC 9768); also
    /// counted in `ecn_negotiated`.
    pub accecn_negotiated: u64,
    /// Data sender: CE-marked segments the peer reported through the AccECN ACE
    /// field (the sum of the s.cep increments).
    pub accecn_ce_delivered: u64,
    /// Data sender: ACKs whose ACE field was not used (no forward progress: a
    /// duplicate or reordered ACK, RFC 9768 section 3.2.2.5).
    pub accecn_ace_ignored: u64,
    /// Loss detection and undo over all connections (each connection's
    /// [`crate::tcp::LossCounters`], summed as they grow).
    pub loss: TcpLossStats,
}

/// Loss-detection and undo counters over all connections, Linux's `TcpExt` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpLossStats {
    /// Tail loss probes sent (`TcpExt:TCPLossProbes`).
    pub loss_probes: u64,
    /// Losses repaired by a tail loss probe (`TcpExt:TCPLossProbeRecovery`).
    pub loss_probe_recoveries: u64,
    /// Times RACK's reorder timer fired (no Linux counter).
    pub rack_reorder_timeouts: u64,
    /// Retransmissions deemed lost again and resent (`TcpExt:TCPLostRetransmit`).
    pub lost_retransmits: u64,
    /// ACKs that showed reordering (`TcpExt:TCPSACKReorder`).
    pub sack_reorders: u64,
    /// Retransmission timeouts found spurious (`TcpExt:TCPSpuriousRTOs`).
    pub spurious_rtos: u64,
    /// Congestion responses undone by D-SACKs (`TcpExt:TCPDSACKUndo`).
    pub dsack_undos: u64,
    /// Timeout responses undone by timestamps (`TcpExt:TCPLossUndo`).
    pub loss_undos: u64,
    /// Fast recoveries undone by timestamps (`TcpExt:TCPFullUndo`).
    pub full_undos: u64,
    /// Times PMTU black-hole detection shrank a connection's packets (RFC
    /// 4821; no Linux counter).
    pub pmtu_black_holes: u64,
    /// Path MTU probes acknowledged (`TcpExt:TCPMTUPSuccess`).
    pub mtu_probe_successes: u64,
    /// Path MTU probes lost, without a congestion response (`TcpExt:TCPMTUPFail`).
    pub mtu_probe_failures: u64,
}

impl TcpLossStats {
    /// Adds what one connection's counters grew by.
    pub fn add(&mut self, d: &crate::tcp::LossCounters) {
        self.loss_probes += u64::from(d.loss_probes);
        self.loss_probe_recoveries += u64::from(d.loss_probe_recoveries);
        self.rack_reorder_timeouts += u64::from(d.rack_reorder_timeouts);
        self.lost_retransmits += u64::from(d.lost_retransmits);
        self.sack_reorders += u64::from(d.sack_reorders);
        self.spurious_rtos += u64::from(d.spurious_rtos);
        self.dsack_undos += u64::from(d.dsack_undos);
        self.loss_undos += u64::from(d.loss_undos);
        self.full_undos += u64::from(d.full_undos);
        self.pmtu_black_holes += u64::from(d.pmtu_black_holes);
        self.mtu_probe_successes += u64::from(d.mtu_probe_successes);
        self.mtu_probe_failures += u64::from(d.mtu_probe_failures);
    }
}

/// `Udp:` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams delivered to sockets.
    pub in_datagrams: u64,
    /// Datagrams to a port with no socket.
    pub no_ports: u64,
    /// Datagrams not delivered for other reasons (bad length, bad checksum, full
    /// receive queue).
    pub in_errors: u64,
    /// Datagrams sent.
    pub out_datagrams: u64,
    /// Datagrams dropped because the receive queue was full.
    pub rcvbuf_errors: u64,
    /// Sends refused because the send queue was full.
    pub sndbuf_errors: u64,
    /// Datagrams with a bad checksum (or a zero checksum over IPv6).
    pub in_csum_errors: u64,
}

/// IP counters of one family: [`Stats::ip`] holds IPv4's (`Ip:` as `netstat -s`
/// prints them), [`Stats::ip6`] IPv6's (`Ip6` as in `/proc/net/snmp6`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpStats {
    /// Packets received.
    pub in_receives: u64,
    /// Packets with a header error (version, length, checksum, hop limit).
    pub in_hdr_errors: u64,
    /// Packets not addressed to this stack.
    pub in_addr_errors: u64,
    /// Packets for a protocol the stack does not handle.
    pub in_unknown_protos: u64,
    /// Packets delivered to TCP, UDP or ICMP.
    pub in_delivers: u64,
    /// Packets sent.
    pub out_requests: u64,
    /// Packets not sent for want of a route.
    pub out_no_routes: u64,
    /// Stack-made packets (RSTs, SYN-ACKs with cookies, ICMP errors and replies,
    /// fragments) dropped because the queue of such packets was full
    /// (`Config::max_control_queue`; RFC 4293's ipSystemStatsOutDiscards).
    pub out_discards: u64,
    /// Fragments received.
    pub reasm_reqds: u64,
    /// Datagrams reassembled.
    pub reasm_oks: u64,
    /// Reassembly failures.
    pub reasm_fails: u64,
    /// Reassemblies that timed out.
    pub reasm_timeout: u64,
    /// Datagrams fragmented on output.
    pub frag_oks: u64,
    /// Fragments created.
    pub frag_creates: u64,
    /// Datagrams that needed fragmenting but could not be (DF, or IPv6 too small).
    pub frag_fails: u64,
}

/// ICMP (or ICMPv6) counters, with per-type counts as `netstat -s` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpStats {
    /// Messages received.
    pub in_msgs: u64,
    /// Messages received in error (bad checksum, truncated), errors whose
    /// quote lacks the offending packet's IP header and 8 bytes past it, and
    /// errors quoting a TCP segment or UDP datagram that no socket (nor a
    /// TIME-WAIT record) has, as Linux counts them (`icmp_socket_deliver`,
    /// `icmpv6_notify`; `tcp_v4_err`, `tcp_v6_err`, `__udp4_lib_err`,
    /// `__udp6_lib_err`).
    pub in_errors: u64,
    /// Messages received with a bad checksum.
    pub in_csum_errors: u64,
    /// Messages sent.
    pub out_msgs: u64,
    /// Errors not sent because of the rate limit.
    pub out_rate_limited: u64,
    /// Messages received, by type.
    pub in_type: [u64; 256],
    /// Messages sent, by type.
    pub out_type: [u64; 256],
}

impl Default for IcmpStats {
    fn default() -> IcmpStats {
        IcmpStats {
            in_msgs: 0,
            in_errors: 0,
            in_csum_errors: 0,
            out_msgs: 0,
            out_rate_limited: 0,
            in_type: [0; 256],
            out_type: [0; 256],
        }
    }
}

/// All of the stack's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP.
    pub tcp: TcpStats,
    /// UDP.
    pub udp: UdpStats,
    /// IPv4.
    pub ip: IpStats,
    /// IPv6.
    pub ip6: IpStats,
    /// ICMPv4.
    pub icmp: IcmpStats,
    /// ICMPv6.
    pub icmp6: IcmpStats,
}

impl Stats {
    /// The counters as `name value` lines in `nstat` style (`TcpActiveOpens 3`),
    /// zeros included, in a fixed order.
    pub fn nstat_lines(&self) -> Vec<(String, u64)> {
        let t = &self.tcp;
        let u = &self.udp;
        let mut out: Vec<(String, u64)> = vec![
            ("TcpActiveOpens".into(), t.active_opens),
            ("TcpPassiveOpens".into(), t.passive_opens),
            ("TcpAttemptFails".into(), t.attempt_fails),
            ("TcpEstabResets".into(), t.estab_resets),
            ("TcpCurrEstab".into(), t.curr_estab),
            ("TcpInSegs".into(), t.in_segs),
            ("TcpOutSegs".into(), t.out_segs),
            ("TcpRetransSegs".into(), t.retrans_segs),
            ("TcpInErrs".into(), t.in_errs),
            ("TcpOutRsts".into(), t.out_rsts),
            ("TcpInCsumErrors".into(), t.in_csum_errors),
            ("TcpExtListenDrops".into(), t.listen_drops),
            ("TcpExtListenOverflows".into(), t.listen_overflows),
            ("TcpExtOutOfWindowIcmps".into(), t.out_of_window_icmps),
            ("TcpExtSyncookiesSent".into(), t.syncookies_sent),
            ("TcpExtSyncookiesRecv".into(), t.syncookies_recv),
            ("TcpExtSyncookiesFailed".into(), t.syncookies_failed),
            ("TcpExtOfoPruned".into(), t.ofo_pruned),
            ("TcpExtTCPTimeouts".into(), t.timeouts),
            ("TcpExtTCPLossProbes".into(), t.loss.loss_probes),
            (
                "TcpExtTCPLossProbeRecovery".into(),
                t.loss.loss_probe_recoveries,
            ),
            ("TcpExtTCPLostRetransmit".into(), t.loss.lost_retransmits),
            ("TcpExtTCPSACKReorder".into(), t.loss.sack_reorders),
            ("TcpExtTCPSpuriousRTOs".into(), t.loss.spurious_rtos),
            ("TcpExtTCPDSACKUndo".into(), t.loss.dsack_undos),
            ("TcpExtTCPLossUndo".into(), t.loss.loss_undos),
            ("TcpExtTCPFullUndo".into(), t.loss.full_undos),
            (
                "TcpExtRackReorderTimeouts".into(),
                t.loss.rack_reorder_timeouts,
            ),
            ("TcpExtTCPMTUPSuccess".into(), t.loss.mtu_probe_successes),
            ("TcpExtTCPMTUPFail".into(), t.loss.mtu_probe_failures),
            ("TcpExtPmtuBlackHoles".into(), t.loss.pmtu_black_holes),
            ("UdpInDatagrams".into(), u.in_datagrams),
            ("UdpNoPorts".into(), u.no_ports),
            ("UdpInErrors".into(), u.in_errors),
            ("UdpOutDatagrams".into(), u.out_datagrams),
            ("UdpRcvbufErrors".into(), u.rcvbuf_errors),
            ("UdpSndbufErrors".into(), u.sndbuf_errors),
            ("UdpInCsumErrors".into(), u.in_csum_errors),
        ];
        for (prefix, ip) in [("Ip", &self.ip), ("Ip6", &self.ip6)] {
            for (name, v) in [
                ("InReceives", ip.in_receives),
                ("InHdrErrors", ip.in_hdr_errors),
                ("InAddrErrors", ip.in_addr_errors),
                ("InUnknownProtos", ip.in_unknown_protos),
                ("InDelivers", ip.in_delivers),
                ("OutRequests", ip.out_requests),
                ("OutNoRoutes", ip.out_no_routes),
                ("OutDiscards", ip.out_discards),
                ("ReasmReqds", ip.reasm_reqds),
                ("ReasmOKs", ip.reasm_oks),
                ("ReasmFails", ip.reasm_fails),
                ("ReasmTimeout", ip.reasm_timeout),
                ("FragOKs", ip.frag_oks),
                ("FragCreates", ip.frag_creates),
                ("FragFails", ip.frag_fails),
            ] {
                out.push((format!("{prefix}{name}"), v));
            }
        }
        for (prefix, icmp) in [("Icmp", &self.icmp), ("Icmp6", &self.icmp6)] {
            out.push((format!("{prefix}InMsgs"), icmp.in_msgs));
            out.push((format!("{prefix}InErrors"), icmp.in_errors));
            out.push((format!("{prefix}InCsumErrors"), icmp.in_csum_errors));
            out.push((format!("{prefix}OutMsgs"), icmp.out_msgs));
            for (ty, &n) in icmp.in_type.iter().enumerate() {
                if n > 0 {
                    out.push((format!("{prefix}InType{ty}"), n));
                }
            }
            for (ty, &n) in icmp.out_type.iter().enumerate() {
                if n > 0 {
                    out.push((format!("{prefix}OutType{ty}"), n));
                }
            }
        }
        out
    }
}
