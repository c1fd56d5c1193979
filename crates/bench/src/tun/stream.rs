//! The byte movers every pairing shares: [`send_bytes`] and [`recv_to_eof`] for
//! bulk (big writes and reads, payload not checked: the TUN path carries TCP's and
//! IP's checksums, and both ends are stacks already interop-tested for content),
//! [`echo_server`] and [`one_exchange`] for connections per second.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Bound on every blocking socket call: a stall becomes an error, not a hang.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes `bytes` bytes in `buf`-sized writes.
pub fn send_bytes(mut w: impl Write, bytes: u64, buf: usize) -> io::Result<()> {
    let chunk: Vec<u8> = (0..buf.max(1)).map(|i| (i % 251) as u8).collect();
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        w.write_all(chunk.get(..n).unwrap_or(&chunk))?;
        left -= n as u64;
    }
    Ok(())
}

/// Reads to end of stream in `buf`-sized reads: the byte count and the time from
/// the call to the end of stream.
pub fn recv_to_eof(mut r: impl Read, buf: usize) -> io::Result<(u64, Duration)> {
    let start = Instant::now();
    let mut b = vec![0u8; buf.max(1)];
    let mut total = 0u64;
    loop {
        match r.read(&mut b) {
            Ok(0) => return Ok((total, start.elapsed())),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The byte a client sends to end [`echo_server`].
pub const STOP: u8 = 0xff;

/// The kernel's side of `tun connect`: accept, read one byte, answer it, close
/// (first, as the server in limits.md 2i does); until a connection brings [`STOP`].
pub fn echo_server(listener: std::net::TcpListener) -> io::Result<u64> {
    let mut served = 0u64;
    loop {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(IO_TIMEOUT))?;
        s.set_write_timeout(Some(IO_TIMEOUT))?;
        let mut b = [0u8; 1];
        s.read_exact(&mut b)?;
        s.write_all(&b)?;
        served += 1;
        if b == [STOP] {
            return Ok(served);
        }
    }
}

/// The client's side of one connection: send `byte`, read the answer, read the
/// server's end of stream; the caller then drops (closes) the stream.
pub fn one_exchange<S>(s: &S, byte: u8) -> io::Result<()>
where
    for<'a> &'a S: Read + Write,
{
    let mut w: &S = s;
    w.write_all(&[byte])?;
    let mut b = [0u8; 2];
    let mut got = 0;
    loop {
        let mut r: &S = s;
        match r.read(b.get_mut(got..).unwrap_or(&mut []))? {
            0 => break,
            n => got += n,
        }
        if got >= b.len() {
            break;
        }
    }
    if got == 1 && b[0] == byte {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected the byte back then end of stream, got {got} byte(s)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_bytes_arrive_counted_to_the_end_of_stream() {
        let mut sink = Vec::new();
        send_bytes(&mut sink, 1_000_003, 4096).unwrap();
        assert_eq!(sink.len(), 1_000_003);
        let (n, _) = recv_to_eof(&sink[..], 1000).unwrap();
        assert_eq!(n, 1_000_003);
    }

    #[test]
    fn echo_server_answers_and_stops_on_the_stop_byte() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || echo_server(l));
        for byte in [1, 2, STOP] {
            let s = std::net::TcpStream::connect(addr).unwrap();
            one_exchange(&s, byte).unwrap();
        }
        assert_eq!(server.join().unwrap().unwrap(), 3);
    }
}
