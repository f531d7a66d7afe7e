//! How a hook turns received messages into values and values into messages to send.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;

use partysocket_wasm::{Error, Message};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A wire format for [`use_party_socket_with_codec`](crate::use_party_socket_with_codec):
/// `decode` turns each received [`Message`] into an `In` (text or binary, as the format
/// wants), `encode` turns an `Out` into a text or binary message for
/// [`send_value`](crate::UsePartySocketReturn::send_value).
///
/// A codec is a type, never a value (like a marker): the hook names it as a type
/// parameter, so one `impl` serves every socket using it. [`JsonCodec`] is the text
/// format PartyKit servers usually speak; [`MessageCodec`] hands messages through.
///
/// A binary format written with serde (postcard, MessagePack, CBOR, bincode) is a
/// codec of a few lines: `encode` serializes into bytes and returns
/// `Message::binary(bytes)`, `decode` deserializes `message.as_bytes()`, and `Error` is
/// that crate's error type. A format of your own works the same way:
///
/// ```
/// use partysocket_leptos::{Codec, Message};
///
/// /// A cursor position as 8 bytes: `x`, then `y`, each an `i32`, big-endian.
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// struct Cursor {
///     x: i32,
///     y: i32,
/// }
///
/// #[derive(Debug)]
/// struct NotACursor(usize);
///
/// impl std::fmt::Display for NotACursor {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "a cursor is 8 bytes, got {}", self.0)
///     }
/// }
///
/// impl std::error::Error for NotACursor {}
///
/// struct CursorCodec;
///
/// impl Codec<Cursor, Cursor> for CursorCodec {
///     type Error = NotACursor;
///
///     fn encode(cursor: &Cursor) -> Result<Message, NotACursor> {
///         let mut bytes = cursor.x.to_be_bytes().to_vec();
///         bytes.extend_from_slice(&cursor.y.to_be_bytes());
///         Ok(Message::binary(bytes))
///     }
///
///     fn decode(message: &Message) -> Result<Cursor, NotACursor> {
///         let b: [u8; 8] = message
///             .as_bytes()
///             .try_into()
///             .map_err(|_| NotACursor(message.len()))?;
///         Ok(Cursor {
///             x: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
///             y: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
///         })
///     }
/// }
///
/// let sent = CursorCodec::encode(&Cursor { x: 3, y: -1 }).unwrap();
/// assert!(!sent.is_text());
/// assert_eq!(CursorCodec::decode(&sent).unwrap(), Cursor { x: 3, y: -1 });
/// assert!(CursorCodec::decode(&Message::text("hello")).is_err());
/// ```
pub trait Codec<In, Out: ?Sized = In>: 'static {
    /// Why a value could not be encoded or a message decoded.
    type Error: StdError + 'static;

    /// The message that carries `value`.
    ///
    /// # Errors
    ///
    /// When the format cannot represent `value`; nothing is sent then.
    fn encode(value: &Out) -> Result<Message, Self::Error>;

    /// The value `message` carries.
    ///
    /// # Errors
    ///
    /// When `message` is not a valid `In` in this format: the hook skips it (see
    /// [`on_decode_error`](crate::UsePartySocketOptions::on_decode_error)).
    fn decode(message: &Message) -> Result<In, Self::Error>;
}

/// Messages as they are: what [`use_party_socket`](crate::use_party_socket) uses.
/// Never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCodec;

impl Codec<Message, Message> for MessageCodec {
    type Error = Infallible;

    fn encode(value: &Message) -> Result<Message, Infallible> {
        Ok(value.clone())
    }

    fn decode(message: &Message) -> Result<Message, Infallible> {
        Ok(message.clone())
    }
}

/// JSON as text messages, with serde: what
/// [`use_party_socket_json`](crate::use_party_socket_json) uses. A binary message is
/// decoded from its bytes as well (UTF-8 JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonCodec;

impl<In: DeserializeOwned, Out: Serialize + ?Sized> Codec<In, Out> for JsonCodec {
    type Error = serde_json::Error;

    fn encode(value: &Out) -> Result<Message, serde_json::Error> {
        Message::to_json(value)
    }

    fn decode(message: &Message) -> Result<In, serde_json::Error> {
        message.json()
    }
}

/// Why [`send_value`](crate::UsePartySocketReturn::send_value) sent nothing.
#[derive(Debug)]
pub enum SendError<E> {
    /// The codec could not encode the value: it was neither sent nor queued.
    Encode(E),
    /// The socket did not take the message (no socket under SSR or after unmount:
    /// [`Error::DriverStopped`]).
    Socket(Error),
}

impl<E: fmt::Display> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Encode(err) => write!(f, "cannot encode the value to send: {err}"),
            SendError::Socket(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl<E: StdError + 'static> StdError for SendError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            SendError::Encode(err) => Some(err),
            SendError::Socket(err) => Some(err),
        }
    }
}

impl<E> From<Error> for SendError<E> {
    fn from(err: Error) -> Self {
        SendError::Socket(err)
    }
}
