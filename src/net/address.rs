//! Which IP addresses a fetch of a user-supplied URL may connect to: only public unicast ones.
//!
//! Everything else (loopback, private, link-local with the cloud metadata service, CGNAT,
//! unique-local, multicast, documentation and benchmark ranges, and IPv6 forms that carry one of
//! those IPv4 addresses inside) reaches our own network or nothing useful, so it is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True when `ip` is not a public unicast address, i.e. connecting to it could reach inside our
/// network (or is meaningless from here).
pub fn is_inward(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_inward_v4(v4),
        IpAddr::V6(v6) => is_inward_v6(v6),
    }
}

fn is_inward_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // 0.0.0.0/8: "this network"; Linux connects 0.x to the local host
        || ip.is_loopback() // 127/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, including the metadata service 169.254.169.254
        || (a == 100 && (b & 0xc0) == 64) // 100.64/10: carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24: IETF protocol assignments
        || ip.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || (a == 192 && b == 88 && c == 99) // 192.88.99/24: retired 6to4 relays
        || (a == 198 && (b & 0xfe) == 18) // 198.18/15: benchmarking
        || ip.is_multicast() // 224/4
        || a >= 240 // 240/4 reserved, and 255.255.255.255 broadcast
}

fn is_inward_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the old "compatible" form) reach the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_inward_v4(v4);
    }
    if seg[..6].iter().all(|&s| s == 0) {
        // ::, ::1 and ::a.b.c.d
        return ip.is_unspecified()
            || ip.is_loopback()
            || is_inward_v4(Ipv4Addr::from(embedded_low_v4(&seg)));
    }
    // 64:ff9b::/96, the well-known NAT64 prefix, reaches the IPv4 address in its last 32 bits.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|&s| s == 0) {
        return is_inward_v4(Ipv4Addr::from(embedded_low_v4(&seg)));
    }
    // 2002::/16 (6to4) carries an IPv4 address in bits 16..48.
    if seg[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        );
        return is_inward_v4(v4);
    }
    // Only global unicast (2000::/3) remains a candidate: this refuses unique-local fc00::/7,
    // link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, the local NAT64 prefix
    // 64:ff9b:1::/48 and discard-only 100::/64.
    if (seg[0] & 0xe000) != 0x2000 {
        return true;
    }
    // 2001::/23: IETF protocol assignments (Teredo among them); 2001:db8::/32 and 3fff::/20:
    // documentation.
    (seg[0] == 0x2001 && (seg[1] < 0x0200 || seg[1] == 0x0db8)) || (seg[0] & 0xfff0) == 0x3ff0
}

fn embedded_low_v4(seg: &[u16; 8]) -> u32 {
    (u32::from(seg[6]) << 16) | u32::from(seg[7])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inward(s: &str) -> bool {
        is_inward(s.parse().unwrap())
    }

    #[test]
    fn inward_ipv4_ranges_are_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.5",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "192.88.99.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(inward(ip), "{ip} is inward");
        }
    }

    #[test]
    fn public_ipv4_addresses_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "198.17.0.1",
            "198.20.0.1",
            "223.255.255.254",
        ] {
            assert!(!inward(ip), "{ip} is public");
        }
    }

    #[test]
    fn inward_ipv6_ranges_and_forms_carrying_inward_ipv4_are_refused() {
        for ip in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.1.2.3",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
        ] {
            assert!(inward(ip), "{ip} is inward");
        }
    }

    #[test]
    fn public_ipv6_addresses_are_allowed() {
        for ip in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!inward(ip), "{ip} is public");
        }
    }
}
