//! CIDR blocks for source-IP allowlists (IPv4 and IPv6).
//!
//! ```
//! use intercom_authz_core::net::Cidr;
//! let c: Cidr = "10.1.0.0/16".parse().unwrap();
//! assert!(c.contains("10.1.2.3".parse().unwrap()));
//! assert!(!c.contains("10.2.0.1".parse().unwrap()));
//! // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
//! assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
//! ```

use core::net::IpAddr;
use core::str::FromStr;

/// An address block: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Cidr {
    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, normalize(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl core::fmt::Display for Cidr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Why a CIDR block did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrError;

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr = normalize(IpAddr::from_str(a).map_err(|_| CidrError)?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| CidrError)?
            }
            Some(_) => return Err(CidrError),
        };
        if prefix > max {
            return Err(CidrError);
        }
        Ok(Cidr { addr, prefix })
    }
}

/// Parses a source address as hosts report it: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678`, `::1`.
pub fn parse_source(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(normalize(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return IpAddr::from_str(ip).ok().map(normalize);
    }
    let (ip, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    IpAddr::from_str(ip).ok().map(normalize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("10.0.0.0/8", "10.255.0.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7/32", "192.168.1.8", false),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "::1", true),
            ("::/0", "1.2.3.4", false),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true),
        ];
        for (c, ip, want) in cases {
            let cidr: Cidr = c.parse().unwrap();
            assert_eq!(cidr.contains(ip.parse().unwrap()), want, "{c} {ip}");
        }
        for bad in [
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sources() {
        assert_eq!(parse_source("1.2.3.4:80"), "1.2.3.4".parse().ok());
        assert_eq!(parse_source("[::1]:80"), "::1".parse().ok());
        assert_eq!(parse_source("::1"), "::1".parse().ok());
        assert_eq!(parse_source("[::ffff:1.2.3.4]:1"), "1.2.3.4".parse().ok());
        assert_eq!(parse_source("nope"), None);
    }
}
