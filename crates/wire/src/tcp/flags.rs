//! The nine TCP control bits.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// The TCP control bits ("flags"): FIN, SYN, RST, PSH, ACK, URG, ECE, CWR and AE.
///
/// The low eight bits are byte 13 of the header; [`TcpFlags::AE`] (bit 8) is bit 0 of
/// byte 12, the former NS bit of RFC 3540, now the Accurate ECN flag of RFC 9768. The
/// three bits between AE and the data offset are reserved: ignored on parse and
/// written as zero.
///
/// `Display` prints tcpdump's letters in brackets, in tcpdump's order
/// (`F S R P . U E W e`): `[S]`, `[S.]`, `[P.]`, `[SEW]`, and `[none]` for no flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// The urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// Accurate ECN (RFC 9768); the former NS bit of RFC 3540.
    pub const AE: TcpFlags = TcpFlags(0x100);

    const ALL_BITS: u16 = 0x1ff;

    /// Every flag, in tcpdump's print order, with its letter and name.
    const TABLE: [(TcpFlags, char, &'static str); 9] = [
        (TcpFlags::FIN, 'F', "FIN"),
        (TcpFlags::SYN, 'S', "SYN"),
        (TcpFlags::RST, 'R', "RST"),
        (TcpFlags::PSH, 'P', "PSH"),
        (TcpFlags::ACK, '.', "ACK"),
        (TcpFlags::URG, 'U', "URG"),
        (TcpFlags::ECE, 'E', "ECE"),
        (TcpFlags::CWR, 'W', "CWR"),
        (TcpFlags::AE, 'e', "AE"),
    ];

    /// No flags.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// All nine flags.
    pub const fn all() -> TcpFlags {
        TcpFlags(Self::ALL_BITS)
    }

    /// The flags of the low nine bits of `bits`; higher bits are dropped.
    pub const fn from_bits_truncate(bits: u16) -> TcpFlags {
        TcpFlags(bits & Self::ALL_BITS)
    }

    /// The flags as bits: byte 13 of the header in the low eight, AE in bit 8.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Set the flags of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clear the flags of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// Set or clear the flags of `other`.
    pub fn set(&mut self, other: TcpFlags, value: bool) {
        if value {
            self.insert(other);
        } else {
            self.remove(other);
        }
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        if self.is_empty() {
            f.write_str("none")?;
        }
        for (flag, letter, _) in Self::TABLE {
            if self.contains(flag) {
                write!(f, "{letter}")?;
            }
        }
        f.write_str("]")
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TcpFlags(")?;
        let mut first = true;
        for (flag, _, name) in Self::TABLE {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("empty")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_tcpdump_letters_in_tcpdump_order() {
        let cases = [
            (TcpFlags::SYN, "[S]"),
            (TcpFlags::SYN | TcpFlags::ACK, "[S.]"),
            (TcpFlags::PSH | TcpFlags::ACK, "[P.]"),
            (TcpFlags::FIN | TcpFlags::ACK, "[F.]"),
            (TcpFlags::RST | TcpFlags::ACK, "[R.]"),
            (TcpFlags::ACK, "[.]"),
            (TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR, "[SEW]"),
            (
                TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::AE,
                "[SEWe]",
            ),
            (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::CWR, "[S.W]"),
            (
                TcpFlags::PSH | TcpFlags::ACK | TcpFlags::ECE | TcpFlags::AE,
                "[P.Ee]",
            ),
            (TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK, "[FP.]"),
            (TcpFlags::URG | TcpFlags::ACK, "[.U]"),
            (TcpFlags::empty(), "[none]"),
            (TcpFlags::all(), "[FSRP.UEWe]"),
        ];
        for (flags, text) in cases {
            assert_eq!(flags.to_string(), text, "{flags:?}");
        }
    }

    #[test]
    fn insert_remove_and_contains_agree() {
        let mut flags = TcpFlags::empty();
        flags.insert(TcpFlags::SYN);
        flags |= TcpFlags::ACK;
        assert!(flags.contains(TcpFlags::SYN | TcpFlags::ACK));
        assert!(!flags.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(flags.intersects(TcpFlags::SYN | TcpFlags::FIN));
        flags.remove(TcpFlags::SYN);
        assert_eq!(flags, TcpFlags::ACK);
        flags.set(TcpFlags::AE, true);
        assert_eq!(flags.bits(), 0x110);
        flags.set(TcpFlags::AE, false);
        assert_eq!(flags & TcpFlags::AE, TcpFlags::empty());
        assert!(TcpFlags::empty().contains(TcpFlags::empty()));
    }

    #[test]
    fn from_bits_drops_reserved_bits() {
        assert_eq!(
            TcpFlags::from_bits_truncate(0xfe12),
            TcpFlags::SYN | TcpFlags::ACK
        );
        assert_eq!(TcpFlags::from_bits_truncate(0xffff), TcpFlags::all());
    }

    #[test]
    fn debug_names_each_flag() {
        assert_eq!(
            format!("{:?}", TcpFlags::SYN | TcpFlags::ACK),
            "TcpFlags(SYN | ACK)"
        );
        assert_eq!(format!("{:?}", TcpFlags::empty()), "TcpFlags(empty)");
    }
}
