//! Randomness: one ChaCha stream per purpose, so builders never depend on each other's draws.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(super) mod stream {
    pub const TENANT: u64 = 0;
    pub const PLAN: u64 = 1;
    pub const PRINCIPALS: u64 = 2;
    pub const NETWORK: u64 = 3;
    pub const VAULTS: u64 = 4;
    pub const KEYS: u64 = 5;
    pub const ROLES: u64 = 6;
    pub const VM: u64 = 10;
    pub const DISKS: u64 = 11;
    pub const NIC: u64 = 12;
    pub const EXTENSIONS: u64 = 13;
    pub const ITEM: u64 = 14;
    pub const JOBS: u64 = 15;
    pub const ADE: u64 = 16;
    pub const ADE_SECRET: u64 = 17;
    pub const VM_PLAN: u64 = 20;
    pub const NSG: u64 = 21;
    pub const ROUTES: u64 = 22;
    /// First of the per-key-vault streams that fix each KEK's version.
    pub const KEK_VERSIONS: u64 = 64;
}

pub(super) fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A random (version 4) GUID.
pub(super) fn guid(rng: &mut impl Rng) -> String {
    let b: u128 = rng.gen();
    let b = (b & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        b >> 96,
        (b >> 80) & 0xFFFF,
        (b >> 64) & 0xFFFF,
        (b >> 48) & 0xFFFF,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A Key Vault object version (32 hex digits).
pub(super) fn hex32(rng: &mut impl Rng) -> String {
    format!("{:032x}", rng.gen::<u128>())
}

pub(super) fn etag(rng: &mut impl Rng) -> String {
    format!("W/\"{}\"", guid(rng))
}

pub(super) fn random_text(rng: &mut impl Rng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

pub(super) fn base64ish(rng: &mut impl Rng, len: usize) -> String {
    random_text(
        rng,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        len,
    )
}

pub(super) fn base36(rng: &mut impl Rng, len: usize) -> String {
    random_text(rng, b"abcdefghijklmnopqrstuvwxyz0123456789", len)
}
