//! The client side of a SOCKS5 CONNECT (RFC 1928), no authentication: what
//! `l4 tun2socks --socks5` says to the proxy before relaying a connection.
//!
//! The codec ([`GREETING`], [`check_method`], [`connect_request`],
//! [`check_reply_head`], [`address_len`]) is pure and tested byte by byte;
//! [`connect`] runs it over any async stream. Targets are always addresses (the
//! destination of the client's SYN), never names, so the request carries an
//! IPv4 or IPv6 address; a reply may bind any address type.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

//= https://www.rfc-editor.org/rfc/rfc1928#section-3
//# The client connects to the server, and sends a version
//# identifier/method selection message:
//#                 +----+----------+----------+
//#                 |VER | NMETHODS | METHODS  |
//#                 +----+----------+----------+
//#                 | 1  |    1     | 1 to 255 |
//#                 +----+----------+----------+
//# The VER field is set to X'05' for this version of the protocol.
const VERSION: u8 = 5;

//= https://www.rfc-editor.org/rfc/rfc1928#section-3
//# o  X'00' NO AUTHENTICATION REQUIRED
const NO_AUTHENTICATION: u8 = 0x00;
//# o  X'FF' NO ACCEPTABLE METHODS
const NO_ACCEPTABLE_METHODS: u8 = 0xFF;

/// The version identifier/method selection message: one method, no
/// authentication.
pub const GREETING: [u8; 3] = [VERSION, 1, NO_AUTHENTICATION];

//= https://www.rfc-editor.org/rfc/rfc1928#section-4
//# o  CMD
//#    o  CONNECT X'01'
const CONNECT: u8 = 0x01;

//= https://www.rfc-editor.org/rfc/rfc1928#section-5
//# o  X'01' IP V4 address: the address is a version-4 IP address, with a
//#    length of 4 octets
//# o  X'03' DOMAINNAME: the address field contains a fully-qualified domain
//#    name.  The first octet of the address field contains the number of
//#    octets of name that follow, there is no terminating NUL octet.
//# o  X'04' IP V6 address: the address is a version-6 IP address, with a
//#    length of 16 octets.
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAINNAME: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// Why a SOCKS5 CONNECT failed.
#[derive(Debug)]
pub enum Error {
    /// Talking to the proxy failed (or it closed early: `UnexpectedEof`).
    Io(io::Error),
    /// The proxy answered with another version than 5.
    Version(u8),
    /// The proxy accepts none of our methods (we offer no authentication only),
    /// or chose one we did not offer.
    NoAcceptableMethod(u8),
    /// The proxy's reply field: the CONNECT failed (RFC 1928 section 6).
    Reply(u8),
    /// The reply's address type is none of 1, 3, 4.
    AddressType(u8),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

//= https://www.rfc-editor.org/rfc/rfc1928#section-6
//# o  REP    Reply field:
//#    o  X'00' succeeded
//#    o  X'01' general SOCKS server failure
//#    o  X'02' connection not allowed by ruleset
//#    o  X'03' Network unreachable
//#    o  X'04' Host unreachable
//#    o  X'05' Connection refused
//#    o  X'06' TTL expired
//#    o  X'07' Command not supported
//#    o  X'08' Address type not supported
//#    o  X'09' to X'FF' unassigned
/// The words of RFC 1928 for reply `rep`.
pub fn reply_text(rep: u8) -> &'static str {
    match rep {
        0 => "succeeded",
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply",
    }
}

/// The reply that says the proxy's own connect was refused.
pub const REPLY_REFUSED: u8 = 5;
/// The replies that say the destination cannot be reached.
pub const REPLY_UNREACHABLE: [u8; 2] = [3, 4];

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "SOCKS5 proxy: {e}"),
            Error::Version(v) => write!(f, "SOCKS5 proxy answered version {v}, not 5"),
            Error::NoAcceptableMethod(NO_ACCEPTABLE_METHODS) => f.write_str(
                "SOCKS5 proxy wants authentication; only \"no authentication\" is offered",
            ),
            Error::NoAcceptableMethod(m) => {
                write!(
                    f,
                    "SOCKS5 proxy chose method {m:#04x}, which was not offered"
                )
            }
            Error::Reply(r) => write!(f, "SOCKS5 reply {r}: {}", reply_text(*r)),
            Error::AddressType(t) => write!(f, "SOCKS5 reply with address type {t}"),
        }
    }
}

/// Checks the proxy's method selection message (`VER METHOD`).
pub fn check_method(answer: [u8; 2]) -> Result<(), Error> {
    match answer {
        [VERSION, NO_AUTHENTICATION] => Ok(()),
        [VERSION, m] => Err(Error::NoAcceptableMethod(m)),
        [v, _] => Err(Error::Version(v)),
    }
}

//= https://www.rfc-editor.org/rfc/rfc1928#section-4
//# The SOCKS request is formed as follows:
//#      +----+-----+-------+------+----------+----------+
//#      |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
//#      +----+-----+-------+------+----------+----------+
//#      | 1  |  1  | X'00' |  1   | Variable |    2     |
//#      +----+-----+-------+------+----------+----------+
/// The CONNECT request for `target` (port in network byte order).
pub fn connect_request(target: SocketAddr) -> Vec<u8> {
    let mut req = vec![VERSION, CONNECT, 0x00];
    match target {
        SocketAddr::V4(a) => {
            req.push(ATYP_IPV4);
            req.extend_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            req.push(ATYP_IPV6);
            req.extend_from_slice(&a.ip().octets());
        }
    }
    req.extend_from_slice(&target.port().to_be_bytes());
    req
}

//= https://www.rfc-editor.org/rfc/rfc1928#section-6
//#      +----+-----+-------+------+----------+----------+
//#      |VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
//#      +----+-----+-------+------+----------+----------+
//#      | 1  |  1  | X'00' |  1   | Variable |    2     |
//#      +----+-----+-------+------+----------+----------+
/// Checks a reply's first four bytes (`VER REP RSV ATYP`): `Ok` when the
/// CONNECT succeeded.
pub fn check_reply_head(head: [u8; 4]) -> Result<(), Error> {
    match head {
        [VERSION, 0, _, _] => Ok(()),
        [VERSION, rep, _, _] => Err(Error::Reply(rep)),
        [v, ..] => Err(Error::Version(v)),
    }
}

/// How many bytes of BND.ADDR and BND.PORT follow the head of a reply of
/// address type `atyp`; for a domain name, `first` is the address's first
/// byte (its length), counted in the result.
pub fn address_len(atyp: u8, first: u8) -> Result<usize, Error> {
    match atyp {
        ATYP_IPV4 => Ok(4 + 2),
        ATYP_IPV6 => Ok(16 + 2),
        ATYP_DOMAINNAME => Ok(1 + usize::from(first) + 2),
        t => Err(Error::AddressType(t)),
    }
}

/// Asks the proxy on `stream` to connect to `target`; on `Ok` the stream
/// carries the connection's bytes.
pub async fn connect<S>(stream: &mut S, target: SocketAddr) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(&GREETING).await?;
    let mut method = [0u8; 2];
    stream.read_exact(&mut method).await?;
    check_method(method)?;
    stream.write_all(&connect_request(target)).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    // A failure's address is not read: the stream is dropped.
    check_reply_head(head)?;
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).await?;
    let rest = address_len(head[3], first[0])? - 1;
    let mut bound = [0u8; 1 + 255 + 2];
    stream.read_exact(&mut bound[..rest]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_address_type_address_and_port_in_network_order() {
        assert_eq!(
            connect_request("198.51.100.5:443".parse().unwrap()),
            [5, 1, 0, 1, 198, 51, 100, 5, 0x01, 0xBB]
        );
        let mut v6 = vec![5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 5];
        v6.extend_from_slice(&[0; 9]);
        v6.extend_from_slice(&[5, 0x1F, 0x90]);
        assert_eq!(connect_request("[2001:db8:5::5]:8080".parse().unwrap()), v6);
        assert_eq!(GREETING, [5, 1, 0]);
    }

    #[test]
    fn method_and_reply_checks_name_what_went_wrong() {
        assert!(check_method([5, 0]).is_ok());
        assert!(matches!(
            check_method([5, 0xFF]),
            Err(Error::NoAcceptableMethod(NO_ACCEPTABLE_METHODS))
        ));
        assert!(matches!(check_method([4, 0]), Err(Error::Version(4))));
        assert!(check_reply_head([5, 0, 0, 1]).is_ok());
        assert!(matches!(
            check_reply_head([5, 5, 0, 1]),
            Err(Error::Reply(5))
        ));
        assert!(matches!(
            check_reply_head([0, 0, 0, 1]),
            Err(Error::Version(0))
        ));
        assert_eq!(
            Error::Reply(4).to_string(),
            "SOCKS5 reply 4: host unreachable"
        );
    }

    #[test]
    fn reply_addresses_have_the_length_of_their_type() {
        assert_eq!(address_len(1, 0xC6).unwrap(), 6);
        assert_eq!(address_len(4, 0x20).unwrap(), 18);
        assert_eq!(address_len(3, 11).unwrap(), 14);
        assert!(matches!(address_len(2, 0), Err(Error::AddressType(2))));
    }

    /// Runs [`connect`] against a scripted proxy that answers `answer` and
    /// records what the client sent.
    fn against(answer: &[u8], target: &str) -> (Result<(), Error>, Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut client, mut proxy) = tokio::io::duplex(1024);
            proxy.write_all(answer).await.unwrap();
            // The proxy says nothing more: the client must read what it needs
            // only, and a short answer ends in an end of stream.
            proxy.shutdown().await.unwrap();
            let r = connect(&mut client, target.parse().unwrap()).await;
            drop(client);
            let mut sent = Vec::new();
            proxy.read_to_end(&mut sent).await.unwrap();
            (r, sent)
        })
    }

    #[test]
    fn a_connect_reads_exactly_the_reply_of_any_address_type() {
        let ok4 = [5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38];
        let (r, sent) = against(&ok4, "198.51.100.5:80");
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(
            sent,
            [&GREETING[..], &[5, 1, 0, 1, 198, 51, 100, 5, 0, 80]].concat()
        );
        let mut ok_name = vec![5, 0, 5, 0, 0, 3, 5];
        ok_name.extend_from_slice(b"proxy\x04\x38");
        assert!(against(&ok_name, "[2001:db8:5::5]:80").0.is_ok());
        let mut ok6 = vec![5, 0, 5, 0, 0, 4];
        ok6.extend_from_slice(&[0; 18]);
        assert!(against(&ok6, "198.51.100.5:80").0.is_ok());
    }

    #[test]
    fn a_refused_or_short_reply_is_an_error() {
        let refused = [5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            against(&refused, "198.51.100.5:81").0,
            Err(Error::Reply(REPLY_REFUSED))
        ));
        // The address cut short: the proxy closed.
        match against(&[5, 0, 5, 0, 0, 1, 10, 0], "198.51.100.5:80").0 {
            Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            against(&[5, 2], "198.51.100.5:80").0,
            Err(Error::NoAcceptableMethod(2))
        ));
    }
}
