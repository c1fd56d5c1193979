//! The routing table: longest-prefix match from a destination to a [`Route`], and
//! source-address selection for a destination.
//!
//! # Structure and cost
//!
//! Each family keeps its routes in a map from prefix length (longest first) to a map
//! from network address to route. A lookup tries each prefix length present, longest
//! first, masking the destination and looking the network up: O(L log n) for L
//! distinct prefix lengths in use (at most 33 for IPv4, 129 for IPv6) and n routes of
//! one length. The table is filled from configuration, not from the network, and is
//! small.
//!
//! A family of at most [`FLAT_ROUTES`] routes (a host's usual table: its on-link
//! prefixes and a default route) is also kept as a flat list, longest prefix
//! first, which a lookup scans instead: at most one route of each length contains
//! a destination, so the first that does is the longest match, found without a
//! tree walk or a masked key per length.
//!
//! # Determinism
//!
//! A route is keyed by its destination *network* (host bits cleared): adding a second
//! route for `10.0.0.0/24` (or `10.0.0.7/24`) replaces the first, so at each prefix
//! length at most one route matches and the longest match is unique. There are no
//! ties to break.

use core::cmp::Reverse;
use core::net::IpAddr;
use std::collections::BTreeMap;

use super::cidr::IpCidr;

/// One route: where packets for `dest` go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// The destinations this route covers.
    pub dest: IpCidr,
    /// The next-hop router, or `None` when the destination is on-link (sent straight
    /// to it).
    pub gateway: Option<IpAddr>,
    /// The MTU of the path through this route, when it is smaller than the link's
    /// (`ip route ... mtu 1400`), or `None` to use the link MTU.
    pub mtu: Option<u16>,
}

impl Route {
    /// A route to `dest` through `gateway` (or on-link, for `None`), no MTU override.
    pub const fn new(dest: IpCidr, gateway: Option<IpAddr>) -> Route {
        Route {
            dest,
            gateway,
            mtu: None,
        }
    }

    /// The next hop for `dst`: the gateway, or `dst` itself when on-link.
    pub fn next_hop(&self, dst: IpAddr) -> IpAddr {
        self.gateway.unwrap_or(dst)
    }
}

type ByLength = BTreeMap<Reverse<u8>, BTreeMap<IpCidr, Route>>;

/// The most routes of a family kept as a flat list as well (see the module
/// docs).
const FLAT_ROUTES: usize = 16;

/// A routing table with longest-prefix match, IPv4 and IPv6 side by side.
#[derive(Clone)]
pub struct RouteTable {
    v4: ByLength,
    v6: ByLength,
    len: usize,
    /// Each family's routes (IPv4, IPv6), longest prefix first, while it has at
    /// most [`FLAT_ROUTES`]; `None` past that.
    flat: [Option<Vec<Route>>; 2],
}

impl Default for RouteTable {
    fn default() -> RouteTable {
        RouteTable {
            v4: ByLength::new(),
            v6: ByLength::new(),
            len: 0,
            flat: [Some(Vec::new()), Some(Vec::new())],
        }
    }
}

impl core::fmt::Debug for RouteTable {
    /// The routes (the flat lists repeat them).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RouteTable")
            .field("v4", &self.v4)
            .field("v6", &self.v6)
            .field("len", &self.len)
            .finish()
    }
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> RouteTable {
        RouteTable::default()
    }

    fn family(&self, ipv4: bool) -> &ByLength {
        if ipv4 {
            &self.v4
        } else {
            &self.v6
        }
    }

    fn family_mut(&mut self, ipv4: bool) -> &mut ByLength {
        if ipv4 {
            &mut self.v4
        } else {
            &mut self.v6
        }
    }

    /// Add `route`, replacing (and returning) a route to the same network.
    pub fn add(&mut self, route: Route) -> Option<Route> {
        let key = route.dest.network();
        let old = self
            .family_mut(key.is_ipv4())
            .entry(Reverse(key.prefix_len()))
            .or_default()
            .insert(key, route);
        if old.is_none() {
            self.len += 1;
        }
        self.reflatten(key.is_ipv4());
        old
    }

    /// Rebuilds a family's flat list after its routes changed.
    fn reflatten(&mut self, ipv4: bool) {
        let family = self.family(ipv4);
        let count: usize = family.values().map(BTreeMap::len).sum();
        let flat = (count <= FLAT_ROUTES)
            .then(|| family.values().flat_map(|r| r.values()).copied().collect());
        self.flat[usize::from(!ipv4)] = flat;
    }

    /// Remove the route to `dest`'s network, returning it.
    pub fn remove(&mut self, dest: IpCidr) -> Option<Route> {
        let key = dest.network();
        let family = self.family_mut(key.is_ipv4());
        let length = Reverse(key.prefix_len());
        let routes = family.get_mut(&length)?;
        let old = routes.remove(&key)?;
        if routes.is_empty() {
            family.remove(&length);
        }
        self.len -= 1;
        self.reflatten(key.is_ipv4());
        Some(old)
    }

    /// The route with the longest prefix containing `dst`, if any (a default route,
    /// `0.0.0.0/0` or `::/0`, contains every address of its family).
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        if let Some(Some(flat)) = self.flat.get(usize::from(!dst.is_ipv4())) {
            return flat.iter().find(|r| r.dest.contains(dst));
        }
        self.lookup_tree(dst)
    }

    /// [`lookup`](Self::lookup) through the per-length maps.
    #[cold]
    #[inline(never)]
    fn lookup_tree(&self, dst: IpAddr) -> Option<&Route> {
        let family = self.family(dst.is_ipv4());
        family.iter().find_map(|(Reverse(len), routes)| {
            // `len` came from a valid CIDR of this family, so `new` cannot fail.
            let key = IpCidr::new(dst, *len).ok()?.network();
            routes.get(&key)
        })
    }

    /// Every route, IPv4 first, longest prefix first, then by network.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.v4
            .values()
            .chain(self.v6.values())
            .flat_map(|routes| routes.values())
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A source address for a packet to `dst`, chosen among `local_addrs` (the
    /// interface's addresses with their on-link prefixes), or `None` when no address
    /// of `dst`'s family is configured.
    ///
    /// A simplified RFC 6724 section 5, for a host with one interface and no address
    /// states or policy table. In order of preference:
    ///
    /// 1. `dst` itself (Rule 1, prefer same address);
    /// 2. an address whose prefix contains `dst` (on-link), the longest prefix first
    ///    (Rule 8, longest matching prefix, applied to the configured prefix);
    /// 3. an address whose prefix contains the gateway of the route to `dst`, so
    ///    that the first hop is on-link, the longest prefix first;
    /// 4. the first address of `dst`'s family in `local_addrs`.
    ///
    /// Ties keep the order of `local_addrs`. Rules 2 to 7 of RFC 6724 (scope,
    /// deprecated addresses, home addresses, outgoing interface, labels, temporary
    /// addresses) are not implemented: they need state this table does not keep.
    pub fn select_source(&self, dst: IpAddr, local_addrs: &[IpCidr]) -> Option<IpAddr> {
        let same_family = || {
            local_addrs
                .iter()
                .filter(move |c| c.is_ipv4() == dst.is_ipv4())
        };
        //= https://www.rfc-editor.org/rfc/rfc6724#section-5
        //# Rule 1: Prefer same address.
        //# If SA = D, then prefer SA.  Similarly, if SB = D, then prefer SB.
        if let Some(c) = same_family().find(|c| c.addr() == dst) {
            return Some(c.addr());
        }
        //= https://www.rfc-editor.org/rfc/rfc6724#section-5
        //# Rule 8: Use longest matching prefix.
        //# When DA and DB belong to the same address family (both are IPv6 or
        //# both are IPv4 [but see below]): If CommonPrefixLen(SA, D) >
        //# CommonPrefixLen(SB, D), then prefer SA.
        let longest_containing = |target: IpAddr| {
            same_family()
                .filter(|c| c.contains(target))
                // `max_by_key` keeps the last maximum; reverse to keep the first.
                .rev()
                .max_by_key(|c| c.prefix_len())
                .map(|c| c.addr())
        };
        if let Some(a) = longest_containing(dst) {
            return Some(a);
        }
        if let Some(gw) = self.lookup(dst).and_then(|r| r.gateway) {
            if let Some(a) = longest_containing(gw) {
                return Some(a);
            }
        }
        same_family().next().map(|c| c.addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cidr(s: &str) -> IpCidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> RouteTable {
        let mut t = RouteTable::new();
        t.add(Route::new(cidr("0.0.0.0/0"), Some(ip("10.0.0.1"))));
        t.add(Route::new(cidr("10.0.0.0/24"), None));
        t.add(Route::new(cidr("10.0.0.128/25"), Some(ip("10.0.0.2"))));
        t.add(Route {
            dest: cidr("192.0.2.0/24"),
            gateway: Some(ip("10.0.0.3")),
            mtu: Some(1400),
        });
        t.add(Route::new(cidr("::/0"), Some(ip("fe80::1"))));
        t.add(Route::new(cidr("2001:db8::/64"), None));
        t
    }

    #[test]
    fn longest_prefix_wins() {
        let t = table();
        assert_eq!(
            t.lookup(ip("10.0.0.200")).unwrap().dest,
            cidr("10.0.0.128/25")
        );
        assert_eq!(t.lookup(ip("10.0.0.5")).unwrap().dest, cidr("10.0.0.0/24"));
        assert_eq!(t.lookup(ip("192.0.2.9")).unwrap().mtu, Some(1400));
        assert_eq!(t.lookup(ip("2001:db8::9")).unwrap().gateway, None);
    }

    #[test]
    fn default_route_catches_the_rest_per_family() {
        let t = table();
        assert_eq!(t.lookup(ip("8.8.8.8")).unwrap().dest, cidr("0.0.0.0/0"));
        assert_eq!(t.lookup(ip("2606:4700::1")).unwrap().dest, cidr("::/0"));
        let mut only_v4 = RouteTable::new();
        only_v4.add(Route::new(cidr("0.0.0.0/0"), Some(ip("10.0.0.1"))));
        assert!(only_v4.lookup(ip("2001:db8::1")).is_none());
    }

    #[test]
    fn no_route_without_a_match() {
        let mut t = RouteTable::new();
        t.add(Route::new(cidr("10.0.0.0/8"), None));
        assert!(t.lookup(ip("11.0.0.1")).is_none());
    }

    #[test]
    fn adding_the_same_network_replaces_and_remove_forgets() {
        let mut t = table();
        let n = t.len();
        let old = t.add(Route::new(cidr("10.0.0.77/24"), Some(ip("10.0.0.9"))));
        assert_eq!(old.unwrap().gateway, None);
        assert_eq!(t.len(), n);
        assert_eq!(
            t.lookup(ip("10.0.0.5")).unwrap().gateway,
            Some(ip("10.0.0.9"))
        );
        assert!(t.remove(cidr("10.0.0.0/24")).is_some());
        assert!(t.remove(cidr("10.0.0.0/24")).is_none());
        assert_eq!(t.len(), n - 1);
        assert_eq!(t.lookup(ip("10.0.0.5")).unwrap().dest, cidr("0.0.0.0/0"));
        assert_eq!(t.iter().count(), n - 1);
    }

    #[test]
    fn source_prefers_on_link_then_gateway_then_first() {
        let t = table();
        let locals = [
            cidr("172.16.0.5/16"),
            cidr("10.0.0.7/24"),
            cidr("10.0.0.130/25"),
            cidr("2001:db8::5/64"),
            cidr("fe80::5/64"),
        ];
        // On-link, longest prefix.
        assert_eq!(
            t.select_source(ip("10.0.0.200"), &locals),
            Some(ip("10.0.0.130"))
        );
        assert_eq!(
            t.select_source(ip("10.0.0.9"), &locals),
            Some(ip("10.0.0.7"))
        );
        // The same address.
        assert_eq!(
            t.select_source(ip("172.16.0.5"), &locals),
            Some(ip("172.16.0.5"))
        );
        // Through the gateway 10.0.0.3 (on 10.0.0.0/24).
        assert_eq!(
            t.select_source(ip("192.0.2.1"), &locals),
            Some(ip("10.0.0.7"))
        );
        // IPv6 default route through fe80::1.
        assert_eq!(
            t.select_source(ip("2606:4700::1"), &locals),
            Some(ip("fe80::5"))
        );
        // No route: the first of the family.
        let empty = RouteTable::new();
        assert_eq!(
            empty.select_source(ip("8.8.8.8"), &locals),
            Some(ip("172.16.0.5"))
        );
        assert_eq!(empty.select_source(ip("8.8.8.8"), &locals[3..]), None);
    }

    proptest! {
        #[test]
        fn lookup_matches_a_linear_longest_prefix_scan(
            routes in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            dst: u32,
        ) {
            let mut t = RouteTable::new();
            let mut all = Vec::new();
            for (bits, len) in routes {
                let dest = IpCidr::new(IpAddr::V4(bits.into()), len).unwrap();
                t.add(Route::new(dest, None));
                all.retain(|r: &IpCidr| r.network() != dest.network());
                all.push(dest);
            }
            let dst = IpAddr::V4(dst.into());
            let want = all.iter().filter(|c| c.contains(dst)).max_by_key(|c| c.prefix_len());
            prop_assert_eq!(t.lookup(dst).map(|r| r.dest), want.copied());
            prop_assert_eq!(t.lookup_tree(dst).map(|r| r.dest), want.copied());
        }

        #[test]
        fn the_flat_list_answers_as_the_tree_as_routes_come_and_go(
            routes in proptest::collection::vec((any::<u8>(), 0u8..=8, any::<bool>()), 0..60),
            dsts in proptest::collection::vec(any::<u8>(), 1..8),
        ) {
            // Few distinct networks (10.0.x.0 with short prefixes), so that
            // routes are replaced and removed, and the family crosses the flat
            // list's bound both ways.
            let mut t = RouteTable::new();
            for (x, len, add) in routes {
                let dest = IpCidr::new(IpAddr::V4([10, 0, x, 0].into()), 16 + len).unwrap();
                if add {
                    t.add(Route::new(dest, None));
                } else {
                    t.remove(dest);
                }
                prop_assert_eq!(t.flat[0].is_some(), t.len() <= FLAT_ROUTES);
                for &d in &dsts {
                    let dst = IpAddr::V4([10, 0, d, 1].into());
                    prop_assert_eq!(t.lookup(dst), t.lookup_tree(dst));
                }
            }
        }
    }
}
