//! Internal consistency checks of one connection, for fuzzing and property tests
//! (`Stack::tcp_check_invariants`). Nothing here runs on the packet path.

use super::Connection;

impl Connection {
    /// Checks what must hold between any two calls, whatever the network sent:
    /// SND.UNA ≤ SND.NXT ≤ SND.MAX, what is outstanding was written, buffers
    /// within their caps, the promised receive window within the buffer,
    /// out-of-order ranges within their cap and inside the buffer. Returns the
    /// first violation, described.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let fail = |what: String| Err(format!("{} {}: {what}", self.local, self.state));
        //= https://www.rfc-editor.org/rfc/rfc9293#section-3.4
        if self.snd_nxt.diff(self.snd_una) < 0 {
            return fail(format!(
                "SND.NXT {} < SND.UNA {}",
                self.snd_nxt, self.snd_una
            ));
        }
        if self.snd_max.diff(self.snd_nxt) < 0 {
            return fail(format!(
                "SND.MAX {} < SND.NXT {}",
                self.snd_max, self.snd_nxt
            ));
        }
        // Outstanding sequence space is at most the SYN, the buffered data and the FIN.
        let space = self.send_buf.len() as i64 + 2;
        let outstanding = i64::from(self.snd_max.diff(self.snd_una));
        if outstanding > space {
            return fail(format!(
                "{outstanding} outstanding with {} bytes buffered",
                self.send_buf.len()
            ));
        }
        let send_cap = self.config.send_buffer.max(self.send_buf.limit());
        if self.send_buf.len() > send_cap || self.send_buf.allocated() > send_cap {
            return fail(format!(
                "send buffer {} bytes / {} allocated over its cap {send_cap}",
                self.send_buf.len(),
                self.send_buf.allocated()
            ));
        }
        let recv_cap = self.config.recv_buffer.max(self.recv_buf.limit());
        if self.recv_buf.len() > recv_cap || self.recv_buf.allocated() > recv_cap {
            return fail(format!(
                "receive buffer {} bytes / {} allocated over its cap {recv_cap}",
                self.recv_buf.len(),
                self.recv_buf.allocated()
            ));
        }
        // The window promised never exceeds the buffer (plus the rounding up of the
        // scaled window field).
        let promised = self.rcv_wnd() as usize;
        if self.state.is_synchronized() && promised > recv_cap + (1usize << self.rcv_wscale) {
            return fail(format!(
                "receive window {promised} over the buffer cap {recv_cap}"
            ));
        }
        if self.assembler.len() > self.assembler.max_ranges() {
            return fail(format!(
                "{} out-of-order ranges over the cap {}",
                self.assembler.len(),
                self.assembler.max_ranges()
            ));
        }
        // Out-of-order data sits after the readable bytes, inside the buffer.
        if let Some(last) = self.assembler.iter().last() {
            if self.recv_buf.len() + last.end as usize > recv_cap {
                return fail(format!(
                    "out-of-order data up to offset {} past the buffer ({} readable, cap {recv_cap})",
                    last.end,
                    self.recv_buf.len()
                ));
            }
        }
        Ok(())
    }
}
