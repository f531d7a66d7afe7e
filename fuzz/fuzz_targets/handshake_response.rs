//! The native driver's handshake response parser, on raw bytes and on responses
//! assembled from plausible pieces: it never panics; a head it accepts is a 101 over
//! HTTP/1.1 with the right accept key and an offered subprotocol; the head's length
//! is within the input, and parsing just that head gives the same answer.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use partysocket::TransportError;
use partysocket::fuzz_hooks::{accept_key, handshake_response};

const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";
const OFFERED: &[&[&str]] = &[&[], &["chat"], &["chat", "superchat"]];

/// A response made of pieces that are often valid, so the checks past the status line
/// are reached.
fn assemble(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let eol: &str = u.choose(&["\r\n", "\n"])?;
    let status: &str = u.choose(&[
        "HTTP/1.1 101 Switching Protocols",
        "HTTP/1.0 101 Switching Protocols",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 429 Too Many Requests",
        "HTTP/1.1 101",
        "HTTP/2 101 Switching Protocols",
    ])?;
    let mut head = format!("{status}{eol}");
    let accept = accept_key(KEY);
    let count = u.int_in_range(0..=8)?;
    for _ in 0..count {
        let line = match u.int_in_range(0..=8)? {
            0 => "Upgrade: websocket".to_owned(),
            1 => "Connection: keep-alive, Upgrade".to_owned(),
            2 => format!("Sec-WebSocket-Accept: {accept}"),
            3 => format!(
                "Sec-WebSocket-Protocol: {}",
                u.choose(&["chat", "superchat", "other", ""])?
            ),
            4 => format!(
                "Sec-WebSocket-Extensions: {}",
                u.choose(&["permessage-deflate", "", " "])?
            ),
            5 => format!("Retry-After: {}", u.arbitrary::<u16>()?),
            6 => "Sec-WebSocket-Accept: wrong".to_owned(),
            7 => format!("X-{}: {}", u.arbitrary::<u8>()?, u.arbitrary::<String>()?),
            _ => u.arbitrary::<String>()?,
        };
        head.push_str(&line);
        head.push_str(eol);
    }
    head.push_str(eol);
    let mut bytes = head.into_bytes();
    let trailing = u.int_in_range(0..=16)?;
    bytes.extend_from_slice(u.bytes(trailing)?);
    Ok(bytes)
}

fn check(bytes: &[u8], offered: &[&str]) {
    let result = handshake_response(bytes, KEY, offered);
    match &result {
        Ok(Some((end, protocol))) => {
            assert!(*end <= bytes.len(), "head length {end} past {}", bytes.len());
            let head = &bytes[..*end];
            let text = String::from_utf8_lossy(head);
            assert!(text.starts_with("HTTP/1.1 101"), "accepted {text:?}");
            assert!(text.contains(&accept_key(KEY)), "accepted {text:?}");
            if let Some(protocol) = protocol {
                assert!(offered.contains(&protocol.as_str()), "chose {protocol:?}");
            } else {
                assert!(offered.is_empty(), "accepted no subprotocol of {offered:?}");
            }
            assert_eq!(handshake_response(head, KEY, offered), result);
        }
        Ok(None) => {}
        Err(TransportError::HandshakeRejected { status, .. }) => {
            assert_ne!(*status, 101);
        }
        Err(TransportError::Protocol(_)) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(offered) = u.choose(OFFERED) else {
        return;
    };
    let Ok(raw) = u.arbitrary::<bool>() else {
        return;
    };
    if raw {
        check(u.take_rest(), offered);
    } else if let Ok(bytes) = assemble(&mut u) {
        check(&bytes, offered);
    }
});
