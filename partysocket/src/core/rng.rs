//! The machine's only source of randomness: connection ids and backoff jitter.
//!
//! A small seedable generator (SplitMix64) so that tests can fix the seed and replay a
//! run exactly. Not for cryptography: ids only need to be unique, not secret.

/// A seedable pseudo-random generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that yields the same sequence for the same `seed`.
    pub(crate) fn from_seed(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator seeded from the operating system (or the browser's crypto API).
    pub(crate) fn from_entropy() -> Self {
        let mut seed = [0u8; 8];
        if !fill_from_entropy(&mut seed) {
            // No entropy source: fall back to the address of a stack value, which still
            // differs between processes on systems with address randomisation.
            let local = 0u8;
            seed = (std::ptr::addr_of!(local) as usize as u64).to_le_bytes();
        }
        Rng::from_seed(u64::from_le_bytes(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniformly distributed in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random (version 4, RFC 9562 variant) UUID in its lowercase hyphenated form.
    pub(crate) fn uuid_v4(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut out = String::with_capacity(36);
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            // `{byte:02x}`, without the formatting machinery.
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }
}

/// Lowercase hexadecimal digits by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Fills `seed` from the operating system's entropy source; `false` when there is none.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn fill_from_entropy(seed: &mut [u8]) -> bool {
    getrandom::getrandom(seed).is_ok()
}

/// Fills `seed` from the page's (or worker's) `crypto.getRandomValues`, the source the
/// `getrandom` crate uses in a browser, called directly: a browser build then carries
/// neither its Node.js detection nor its glue. `false` when there is no `crypto`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn fill_from_entropy(seed: &mut [u8]) -> bool {
    browser::get_random_values(seed).is_ok()
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod browser {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        /// `crypto.getRandomValues(buffer)`; an error when `crypto` is missing.
        #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
        pub(super) fn get_random_values(buffer: &mut [u8]) -> Result<(), wasm_bindgen::JsValue>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_digits_are_what_format_writes() {
        let mut by_table = Rng::from_seed(42);
        let mut by_format = Rng::from_seed(42);
        for _ in 0..200 {
            let id = by_table.uuid_v4();
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&by_format.next_u64().to_le_bytes());
            bytes[8..].copy_from_slice(&by_format.next_u64().to_le_bytes());
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            let expected = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            assert_eq!(id, expected);
        }
    }

    fn is_uuid_v4(id: &str) -> bool {
        let groups: Vec<&str> = id.split('-').collect();
        groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && id
                .chars()
                .all(|c| c == '-' || matches!(c, '0'..='9' | 'a'..='f'))
            && groups[2].starts_with('4')
            && matches!(groups[3].chars().next(), Some('8' | '9' | 'a' | 'b'))
    }

    #[test]
    fn should_use_crypto_random_uuid_format() {
        let mut rng = Rng::from_entropy();
        for _ in 0..1000 {
            let id = rng.uuid_v4();
            assert!(is_uuid_v4(&id), "{id}");
        }
    }

    #[test]
    fn should_generate_different_uuids_for_different_sockets() {
        let a = Rng::from_entropy().uuid_v4();
        let b = Rng::from_entropy().uuid_v4();
        assert_ne!(a, b);
    }

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::from_seed(7);
        let mut b = Rng::from_seed(7);
        assert_eq!(a.uuid_v4(), b.uuid_v4());
        assert_eq!(a.next_f64(), b.next_f64());
        let mut c = Rng::from_seed(8);
        assert_ne!(Rng::from_seed(7).uuid_v4(), c.uuid_v4());
    }

    #[test]
    fn next_f64_is_in_unit_interval() {
        let mut rng = Rng::from_seed(1);
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
