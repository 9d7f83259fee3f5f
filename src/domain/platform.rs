//! The ten platforms: seven social networks and three shops. Their names are part of the public
//! surface (paths, configuration, JSON), so they never change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    X,
    Instagram,
    Facebook,
    Linkedin,
    Pinterest,
    Tiktok,
    Youtube,
    Shopify,
    Etsy,
    Squarespace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlatformKind {
    Social,
    Commerce,
}

impl Platform {
    pub const ALL: [Platform; 10] = [
        Platform::X,
        Platform::Instagram,
        Platform::Facebook,
        Platform::Linkedin,
        Platform::Pinterest,
        Platform::Tiktok,
        Platform::Youtube,
        Platform::Shopify,
        Platform::Etsy,
        Platform::Squarespace,
    ];

    /// The stable lowercase name used in paths, configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Instagram => "instagram",
            Platform::Facebook => "facebook",
            Platform::Linkedin => "linkedin",
            Platform::Pinterest => "pinterest",
            Platform::Tiktok => "tiktok",
            Platform::Youtube => "youtube",
            Platform::Shopify => "shopify",
            Platform::Etsy => "etsy",
            Platform::Squarespace => "squarespace",
        }
    }

    /// The name people know the platform by.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Instagram => "Instagram",
            Platform::Facebook => "Facebook",
            Platform::Linkedin => "LinkedIn",
            Platform::Pinterest => "Pinterest",
            Platform::Tiktok => "TikTok",
            Platform::Youtube => "YouTube",
            Platform::Shopify => "Shopify",
            Platform::Etsy => "Etsy",
            Platform::Squarespace => "Squarespace",
        }
    }

    /// The letter on the platform's coloured mark.
    pub fn initial(self) -> char {
        self.display_name().chars().next().unwrap_or('?')
    }

    pub fn kind(self) -> PlatformKind {
        match self {
            Platform::Shopify | Platform::Etsy | Platform::Squarespace => PlatformKind::Commerce,
            _ => PlatformKind::Social,
        }
    }

    /// Prefix of this platform's configuration variables (`X_CLIENT_ID`, `TIKTOK_CLIENT_SECRET`…).
    pub fn env_prefix(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Instagram => "INSTAGRAM",
            Platform::Facebook => "FACEBOOK",
            Platform::Linkedin => "LINKEDIN",
            Platform::Pinterest => "PINTEREST",
            Platform::Tiktok => "TIKTOK",
            Platform::Youtube => "YOUTUBE",
            Platform::Shopify => "SHOPIFY",
            Platform::Etsy => "ETSY",
            Platform::Squarespace => "SQUARESPACE",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown platform {0:?}")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_name_parses_back_to_itself() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
        assert!("twitter".parse::<Platform>().is_err());
    }

    #[test]
    fn shops_are_commerce_and_networks_are_social() {
        let commerce: Vec<_> = Platform::ALL
            .into_iter()
            .filter(|p| p.kind() == PlatformKind::Commerce)
            .collect();
        assert_eq!(
            commerce,
            vec![Platform::Shopify, Platform::Etsy, Platform::Squarespace]
        );
    }
}
