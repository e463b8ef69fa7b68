//! Proof that acu-pilot created a resource, which a tag alone can never give: whoever may
//! tag a cluster may also write any tag value, so the `acu-pilot:created-by` value is an
//! HMAC-SHA256 under a key only acu-pilot's roles can read, of something the tagger cannot
//! move elsewhere:
//!
//! - a cluster: its `DbClusterResourceId` (`cluster-…`), immutable and never reused, so a
//!   value copied from one cluster to another (or to a new cluster of the same name)
//!   does not verify;
//! - an alarm: its name, inside the two prefixes acu-pilot's IAM policy lets it write.
//!
//! Every destructive action (decommission, TTL teardown, turning deletion protection off,
//! deleting alarms) is taken only where the proof verifies; see docs/security.md.

use std::fmt;

use ring::hmac;

/// The tag whose value is the proof.
pub const CREATED_BY: &str = "acu-pilot:created-by";

/// The version prefix of a proof value: a later scheme can verify both.
const SCHEME: &str = "v1.";
/// The shortest key accepted, in bytes: SHA-256's block is 64, its output 32.
const MIN_KEY_BYTES: usize = 32;

/// The key the proofs are made with, read once per process.
#[derive(Clone)]
pub struct OwnershipKey(hmac::Key);

impl fmt::Debug for OwnershipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnershipKey(redacted)")
    }
}

/// What a proof is about; the prefix keeps a cluster's proof from verifying as an alarm's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A DB cluster by its `DbClusterResourceId`.
    Cluster(&'a str),
    /// A CloudWatch alarm by its name.
    Alarm(&'a str),
    /// A DB cluster parameter group by its name.
    ParameterGroup(&'a str),
}

impl Resource<'_> {
    fn message(self) -> Vec<u8> {
        match self {
            Resource::Cluster(id) => format!("rds-cluster:{id}").into_bytes(),
            Resource::Alarm(name) => format!("cloudwatch-alarm:{name}").into_bytes(),
            Resource::ParameterGroup(name) => format!("rds-cluster-pg:{name}").into_bytes(),
        }
    }
}

impl OwnershipKey {
    /// From the secret's text (the template generates 64 characters). Refuses a short one.
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the ownership key is {} bytes; at least {MIN_KEY_BYTES} are needed",
                secret.len()
            ));
        }
        Ok(OwnershipKey(hmac::Key::new(
            hmac::HMAC_SHA256,
            secret.as_bytes(),
        )))
    }

    /// The `acu-pilot:created-by` value for `resource`: `v1.` and 64 hex digits.
    pub fn proof(&self, resource: Resource<'_>) -> String {
        let tag = hmac::sign(&self.0, &resource.message());
        let mut out = String::with_capacity(SCHEME.len() + 64);
        out.push_str(SCHEME);
        for byte in tag.as_ref() {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// Whether `value` is this key's proof for `resource` (constant-time comparison).
    pub fn verifies(&self, resource: Resource<'_>, value: &str) -> bool {
        let Some(hex) = value.trim().strip_prefix(SCHEME) else {
            return false;
        };
        let Some(tag) = decode_hex(hex) else {
            return false;
        };
        hmac::verify(&self.0, &resource.message(), &tag).is_ok()
    }
}

/// Why acu-pilot may not treat a resource as its own creation. `None` means it may.
pub fn refusal(
    key: Option<&OwnershipKey>,
    resource: Resource<'_>,
    created_by: Option<&str>,
) -> Option<&'static str> {
    let Some(key) = key else {
        return Some("no ownership key is configured (ACU_PILOT_OWNERSHIP_KEY_PARAMETER)");
    };
    if let Resource::Cluster("") = resource {
        return Some("the cluster has no DbClusterResourceId to prove creation against");
    }
    match created_by {
        None => Some("it has no acu-pilot:created-by tag: acu-pilot did not create it"),
        Some(value) if key.verifies(resource, value) => None,
        Some(_) => Some("its acu-pilot:created-by tag is not acu-pilot's proof for it"),
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(text: &str) -> OwnershipKey {
        OwnershipKey::from_secret(text).unwrap()
    }

    const K: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_proof_verifies_for_its_resource_only() {
        let k = key(K);
        let proof = k.proof(Resource::Cluster("cluster-ABC"));
        assert!(proof.starts_with("v1.") && proof.len() == 67, "{proof}");
        assert!(k.verifies(Resource::Cluster("cluster-ABC"), &proof));
        // Copied to another cluster, or read as an alarm's proof: refused.
        assert!(!k.verifies(Resource::Cluster("cluster-XYZ"), &proof));
        assert!(!k.verifies(Resource::Alarm("cluster-ABC"), &proof));
        // Another deployment's key: refused.
        let other = key("another key of at least thirty-two bytes!!");
        assert!(!other.verifies(Resource::Cluster("cluster-ABC"), &proof));
    }

    #[test]
    fn what_a_tagger_can_write_never_verifies() {
        let k = key(K);
        let r = Resource::Cluster("cluster-ABC");
        for forged in [
            "true",
            "acu-pilot",
            "v1.",
            "v1.00",
            &format!("v1.{}", "0".repeat(64)),
        ] {
            assert_eq!(
                refusal(Some(&k), r, Some(forged)),
                Some("its acu-pilot:created-by tag is not acu-pilot's proof for it")
            );
        }
        assert!(refusal(Some(&k), r, None).is_some());
        assert!(refusal(None, r, Some(&k.proof(r))).is_some());
        assert!(
            refusal(
                Some(&k),
                Resource::Cluster(""),
                Some(&k.proof(Resource::Cluster("")))
            )
            .is_some()
        );
        assert_eq!(refusal(Some(&k), r, Some(&k.proof(r))), None);
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(OwnershipKey::from_secret("short").is_err());
        assert!(format!("{:?}", key(K)).contains("redacted"));
    }

    proptest! {
        #[test]
        fn arbitrary_tag_values_never_verify(value in ".{0,300}", id in "[a-zA-Z0-9-]{1,40}") {
            let k = key(K);
            let r = Resource::Cluster(&id);
            prop_assert!(value == k.proof(r) || !k.verifies(r, &value));
        }
    }
}
