//! Debug output without secrets: header values and query values often carry tokens.

use std::fmt;

/// The stand-in for a secret in `Debug` output.
pub(crate) const REDACTED: &str = "REDACTED";

/// Handshake headers as `Debug` shows them: names kept, values replaced.
pub(crate) struct Headers<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| (name.as_str(), REDACTED)))
            .finish()
    }
}
