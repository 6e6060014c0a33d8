//! How each provider's event ids look, and making fresh ones (random, or from `--seed`).

/// The shape of a sample's event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    /// `evt_` and 24 letters and digits (Stripe's event ids, and the generic samples').
    Event,
    /// A random (version 4) UUID: GitHub's `X-GitHub-Delivery`, Shopify's webhook id.
    Uuid,
    /// A prefix and `len` characters, upper-case letters and digits only when `upper`: Slack's
    /// `Ev0PV52K25`, Standard Webhooks' `msg_2KWPBgLlAfxdpx2AI54pPJ85f4W`.
    Prefixed {
        prefix: &'static str,
        len: usize,
        upper: bool,
    },
}

impl IdFormat {
    /// A fresh id from `rng`.
    pub fn generate(self, rng: &mut fastrand::Rng) -> String {
        match self {
            IdFormat::Event => {
                let mut id = String::with_capacity(28);
                id.push_str("evt_");
                id.extend(std::iter::repeat_with(|| rng.alphanumeric()).take(24));
                id
            }
            IdFormat::Uuid => {
                let bits = (u128::from(rng.u64(..)) << 64 | u128::from(rng.u64(..)))
                    & !(0xf << 76)
                    & !(0x3 << 62)
                    | (0x4 << 76)
                    | (0x2 << 62);
                let hex = format!("{bits:032x}");
                format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                )
            }
            IdFormat::Prefixed { prefix, len, upper } => {
                let mut id = String::with_capacity(prefix.len() + len);
                id.push_str(prefix);
                id.extend(
                    std::iter::repeat_with(|| {
                        if upper {
                            const UPPER: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
                            char::from(UPPER[rng.usize(..UPPER.len())])
                        } else {
                            rng.alphanumeric()
                        }
                    })
                    .take(len),
                );
                id
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_providers_shapes() {
        let mut rng = fastrand::Rng::with_seed(7);
        let uuid = IdFormat::Uuid.generate(&mut rng);
        let parts: Vec<_> = uuid.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{uuid}");
        assert_eq!(&uuid[14..15], "4", "{uuid}");
        assert!("89ab".contains(&uuid[19..20]), "{uuid}");
        let evt = IdFormat::Event.generate(&mut rng);
        assert!(evt.starts_with("evt_") && evt.len() == 28, "{evt}");
        let slack = IdFormat::Prefixed {
            prefix: "Ev",
            len: 9,
            upper: true,
        }
        .generate(&mut rng);
        assert!(slack.starts_with("Ev") && slack.len() == 11, "{slack}");
        assert!(
            !slack[2..].bytes().any(|b| b.is_ascii_lowercase()),
            "{slack}"
        );
        let again = IdFormat::Uuid.generate(&mut fastrand::Rng::with_seed(7));
        assert_eq!(again, uuid, "the same seed gives the same ids");
    }
}
