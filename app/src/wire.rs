//! How server functions' answers travel: JSON, as with server_fn's own `Json`, but read back
//! from text rather than bytes.
//!
//! Why: a Resource's value comes to the browser inside the page and is read with
//! `serde_json::from_str`, while server_fn's `Json` reads an answer with `serde_json::from_slice`.
//! Each reader is a different type, so every answer type had its deserializer compiled twice
//! into the WASM (and `Option`s, `Vec`s and `AppError` with it). Read as text here, an answer
//! shares the deserializer that hydration already needs. Same bytes on the wire.

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::{Serialize, de::DeserializeOwned};

/// JSON read back with `serde_json::from_str`.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// The output encoding of every server function (`#[server(…, output = JsonAnswer)]`).
pub type JsonAnswer = Post<JsonText>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_as_written_and_bad_text_is_an_error() {
        let bytes =
            <JsonText as Encodes<Vec<Option<String>>>>::encode(&vec![Some("é".to_owned()), None])
                .unwrap();
        assert_eq!(&bytes[..], "[\"é\",null]".as_bytes());
        let back: Vec<Option<String>> = <JsonText as Decodes<_>>::decode(bytes).unwrap();
        assert_eq!(back, [Some("é".to_owned()), None]);
        let invalid = Bytes::from_static(b"[\"\xff\"]");
        assert!(<JsonText as Decodes<Vec<String>>>::decode(invalid).is_err());
    }
}
