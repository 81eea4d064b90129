//! FF1 format-preserving encryption (NIST SP 800-38G, section 5.1), with AES as the block
//! cipher, for strings of up to 20 numerals of radix 2 to 36.
//!
//! Written for serial issuance, where it is a keyed permutation of the fixed-length strings of
//! a pool: each half of the Feistel network (at most 10 numerals) is kept as a `u64` integer
//! rather than as a numeral string, so a round is one AES block (when tweak and half fit one
//! block, as they do for a GTIN tweak) plus integer arithmetic. The AES encryption of the
//! fixed block `P` depends only on the radix, lengths and tweak length, and is computed once
//! per [`Ff1::domain`]. Checked against the NIST SP 800-38G sample vectors (tests below).

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};

/// AES with a 128-, 192- or 256-bit key.
#[derive(Clone)]
enum Cipher {
    Aes128(Box<aes::Aes128>),
    Aes192(Box<aes::Aes192>),
    Aes256(Box<aes::Aes256>),
}

impl Cipher {
    #[inline]
    fn encrypt(&self, block: &mut [u8; 16]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Cipher::Aes128(c) => c.encrypt_block(b),
            Cipher::Aes192(c) => c.encrypt_block(b),
            Cipher::Aes256(c) => c.encrypt_block(b),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ff1Error {
    #[error("the key must be 16, 24 or 32 bytes, not {0}")]
    KeyLength(usize),
    #[error("radix {0} is outside 2 to 36")]
    Radix(u32),
    #[error("length {0} is outside 2 to 20 numerals")]
    Length(usize),
    #[error("the tweak is longer than 256 bytes")]
    Tweak,
}

/// An FF1 key.
#[derive(Clone)]
pub struct Ff1 {
    cipher: Cipher,
}

impl Ff1 {
    pub fn new(key: &[u8]) -> Result<Ff1, Ff1Error> {
        let cipher = match key.len() {
            16 => Cipher::Aes128(Box::new(aes::Aes128::new(GenericArray::from_slice(key)))),
            24 => Cipher::Aes192(Box::new(aes::Aes192::new(GenericArray::from_slice(key)))),
            32 => Cipher::Aes256(Box::new(aes::Aes256::new(GenericArray::from_slice(key)))),
            n => return Err(Ff1Error::KeyLength(n)),
        };
        Ok(Ff1 { cipher })
    }

    /// The permutation of the `n`-numeral strings of `radix` under `tweak`.
    pub fn domain(&self, radix: u32, n: usize, tweak: &[u8]) -> Result<Domain, Ff1Error> {
        if !(2..=36).contains(&radix) {
            return Err(Ff1Error::Radix(radix));
        }
        if !(2..=20).contains(&n) {
            return Err(Ff1Error::Length(n));
        }
        if tweak.len() > 256 {
            return Err(Ff1Error::Tweak);
        }
        let u = n / 2;
        let v = n - u;
        let r = u64::from(radix);
        let pow = |m: usize| r.pow(m as u32);
        // b = ceil(ceil(v·log2(radix)) / 8); ceil(v·log2(radix)) is the bit length of radix^v − 1.
        let bits = 128 - (u128::from(pow(v)) - 1).leading_zeros() as usize;
        let b = bits.div_ceil(8);
        let d = 4 * b.div_ceil(4) + 4;
        let mut p = [0u8; 16];
        p[..3].copy_from_slice(&[1, 2, 1]);
        p[3..6].copy_from_slice(&radix.to_be_bytes()[1..]);
        p[6] = 10;
        p[7] = (u % 256) as u8;
        p[8..12].copy_from_slice(&(n as u32).to_be_bytes());
        p[12..16].copy_from_slice(&(tweak.len() as u32).to_be_bytes());
        self.cipher.encrypt(&mut p);
        // Q = T || 0^((−t−b−1) mod 16) || [i] || [NUM(B)]^b: the tweak part is fixed.
        let q_len = (tweak.len() + b + 1).div_ceil(16) * 16;
        let mut q = vec![0u8; q_len];
        q[..tweak.len()].copy_from_slice(tweak);
        Ok(Domain {
            cipher: self.cipher.clone(),
            radix: r,
            u,
            v,
            pow_u: pow(u),
            pow_v: pow(v),
            b,
            d,
            p_mac: p,
            q,
        })
    }
}

/// FF1 for one radix, length and tweak: encrypts and decrypts numeral strings given as their
/// two halves, `a` (the first `n/2` numerals) and `b` (the rest), each as an integer.
#[derive(Clone)]
pub struct Domain {
    cipher: Cipher,
    radix: u64,
    u: usize,
    v: usize,
    pow_u: u64,
    pow_v: u64,
    b: usize,
    d: usize,
    /// CIPH_K(P): the CBC-MAC state after the first block.
    p_mac: [u8; 16],
    /// Q with the tweak and padding in place.
    q: Vec<u8>,
}

impl Domain {
    pub fn radix(&self) -> u32 {
        self.radix as u32
    }

    /// Numerals in the first half (`u`) and the second (`v`).
    pub fn halves(&self) -> (usize, usize) {
        (self.u, self.v)
    }

    /// radix^u and radix^v: the exclusive bounds of the two halves.
    pub fn half_bounds(&self) -> (u64, u64) {
        (self.pow_u, self.pow_v)
    }

    /// NUM(S) for round `i` whose Feistel input half is `x`, reduced mod radix^m.
    #[inline]
    fn round(&self, q: &mut [u8], i: u8, x: u64, modulus: u64) -> u64 {
        let len = q.len();
        q[len - self.b - 1] = i;
        let xb = x.to_be_bytes();
        q[len - self.b..].copy_from_slice(&xb[8 - self.b..]);
        // R = PRF(P || Q): CBC-MAC, continuing from CIPH(P).
        let mut r = self.p_mac;
        for chunk in q.chunks_exact(16) {
            for (r, c) in r.iter_mut().zip(chunk) {
                *r ^= c;
            }
            self.cipher.encrypt(&mut r);
        }
        // S = the first d bytes of R (d ≤ 12 for up to 10 numerals of radix ≤ 36). With d = 8
        // (b ≤ 4: numeric halves up to 9 digits) the reduction stays in 64-bit arithmetic.
        if self.d == 8 {
            let y = u64::from_be_bytes(r[..8].try_into().expect("8 bytes"));
            return y % modulus;
        }
        let mut y: u128 = 0;
        for &byte in &r[..self.d] {
            y = (y << 8) | u128::from(byte);
        }
        (y % u128::from(modulus)) as u64
    }

    /// FF1.Encrypt of the string whose halves are `(a, b)` (`a` < radix^u, `b` < radix^v).
    #[inline]
    pub fn encrypt(&self, a: u64, b: u64) -> (u64, u64) {
        let mut q = [0u8; 288];
        let q = &mut q[..self.q.len()];
        q.copy_from_slice(&self.q);
        let (mut a, mut b) = (a, b);
        for i in 0..10u8 {
            let modulus = if i % 2 == 0 { self.pow_u } else { self.pow_v };
            let y = self.round(q, i, b, modulus);
            // c = (NUM(A) + y) mod radix^m; A and y are below radix^m ≤ 36^10 < 2^52.
            let c = (a + y) % modulus;
            a = b;
            b = c;
        }
        (a, b)
    }

    /// FF1.Decrypt: the inverse of [`Domain::encrypt`].
    #[inline]
    pub fn decrypt(&self, a: u64, b: u64) -> (u64, u64) {
        let mut q = [0u8; 288];
        let q = &mut q[..self.q.len()];
        q.copy_from_slice(&self.q);
        let (mut a, mut b) = (a, b);
        for i in (0..10u8).rev() {
            let modulus = if i % 2 == 0 { self.pow_u } else { self.pow_v };
            let y = self.round(q, i, a, modulus);
            let c = (b + modulus - y) % modulus;
            b = a;
            a = c;
        }
        (a, b)
    }

    /// Splits a numeral string (values `< radix`) into its halves.
    pub fn split(&self, numerals: &[u8]) -> (u64, u64) {
        let num = |s: &[u8]| {
            s.iter()
                .fold(0u64, |acc, &d| acc * self.radix + u64::from(d))
        };
        (num(&numerals[..self.u]), num(&numerals[self.u..]))
    }

    /// Writes the halves back as `u + v` numerals.
    pub fn join(&self, a: u64, b: u64, out: &mut [u8]) {
        let put = |mut x: u64, dst: &mut [u8]| {
            for slot in dst.iter_mut().rev() {
                *slot = (x % self.radix) as u8;
                x /= self.radix;
            }
        };
        put(a, &mut out[..self.u]);
        put(b, &mut out[self.u..self.u + self.v]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn numerals(s: &str) -> Vec<u8> {
        s.bytes()
            .map(|c| ALPHABET.iter().position(|&a| a == c).unwrap() as u8)
            .collect()
    }

    fn text(n: &[u8]) -> String {
        n.iter().map(|&d| ALPHABET[d as usize] as char).collect()
    }

    fn run(key: &str, radix: u32, tweak: &str, pt: &str) -> (String, String) {
        let domain = Ff1::new(&hex(key))
            .unwrap()
            .domain(radix, pt.len(), &hex(tweak))
            .unwrap();
        let (a, b) = domain.split(&numerals(pt));
        let (ca, cb) = domain.encrypt(a, b);
        let mut out = vec![0u8; pt.len()];
        domain.join(ca, cb, &mut out);
        let (da, db) = domain.decrypt(ca, cb);
        let mut back = vec![0u8; pt.len()];
        domain.join(da, db, &mut back);
        (text(&out), text(&back))
    }

    const K128: &str = "2B7E151628AED2A6ABF7158809CF4F3C";
    const K192: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F";
    const K256: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94";
    const T10: &str = "39383736353433323130";
    const T11: &str = "3737373770717273373737";

    /// NIST SP 800-38G, FF1 samples 1 to 9 (AES-128, -192, -256; radix 10 and 36; empty and
    /// non-empty tweaks), each encrypted and decrypted back.
    #[test]
    fn ff1_matches_the_nist_sp_800_38g_samples() {
        let samples = [
            (K128, 10, "", "0123456789", "2433477484"),
            (K128, 10, T10, "0123456789", "6124200773"),
            (K128, 36, T11, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
            (K192, 10, "", "0123456789", "2830668132"),
            (K192, 10, T10, "0123456789", "2496655549"),
            (K192, 36, T11, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
            (K256, 10, "", "0123456789", "6657667009"),
            (K256, 10, T10, "0123456789", "1001623463"),
            (K256, 36, T11, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
        ];
        for (n, (key, radix, tweak, pt, ct)) in samples.into_iter().enumerate() {
            let (got, back) = run(key, radix, tweak, pt);
            assert_eq!(got, ct, "sample {}", n + 1);
            assert_eq!(back, pt, "sample {} decrypts back", n + 1);
        }
    }

    #[test]
    fn ff1_is_a_bijection_on_a_small_domain() {
        // 10^4 strings of 4 digits: every ciphertext appears exactly once, and decrypts back.
        let domain = Ff1::new(&hex(K256))
            .unwrap()
            .domain(10, 4, b"00361414123458")
            .unwrap();
        let (pu, pv) = domain.half_bounds();
        let mut seen = vec![false; (pu * pv) as usize];
        for a in 0..pu {
            for b in 0..pv {
                let (ca, cb) = domain.encrypt(a, b);
                assert!(ca < pu && cb < pv);
                let idx = (ca * pv + cb) as usize;
                assert!(!seen[idx], "{a},{b} collides");
                seen[idx] = true;
                assert_eq!(domain.decrypt(ca, cb), (a, b));
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn a_different_tweak_or_key_gives_a_different_permutation() {
        let k = Ff1::new(&hex(K256)).unwrap();
        let d1 = k.domain(10, 12, b"1").unwrap();
        let d2 = k.domain(10, 12, b"2").unwrap();
        let d3 = Ff1::new(&hex(K128)).unwrap().domain(10, 12, b"1").unwrap();
        let differ = |x: &Domain, y: &Domain| {
            (0..100)
                .filter(|&i| x.encrypt(0, i) != y.encrypt(0, i))
                .count()
        };
        assert!(differ(&d1, &d2) > 95);
        assert!(differ(&d1, &d3) > 95);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(Ff1::new(&[0; 15]).err(), Some(Ff1Error::KeyLength(15)));
        let k = Ff1::new(&[0; 32]).unwrap();
        assert_eq!(k.domain(37, 10, b"").err(), Some(Ff1Error::Radix(37)));
        assert_eq!(k.domain(10, 21, b"").err(), Some(Ff1Error::Length(21)));
        assert_eq!(k.domain(10, 1, b"").err(), Some(Ff1Error::Length(1)));
    }
}
