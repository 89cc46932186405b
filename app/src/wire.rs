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

    /// A server function left on server_fn's default output would bring back the second copy
    /// of its answer's deserializer, silently: every one names `JsonAnswer`.
    #[test]
    fn every_server_function_answers_with_json_answer() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for line in text.lines().map(str::trim) {
                        // The attribute on a function, not `#[server(default)]` on an argument.
                        if line.starts_with("#[server(") && line.ends_with(")]") {
                            found.push(format!("{}: {line}", path.display()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.len() > 40, "server functions found: {}", found.len());
        let others: Vec<_> = found
            .iter()
            .filter(|l| !l.contains("output = crate::wire::JsonAnswer)]"))
            .collect();
        assert!(others.is_empty(), "{others:#?}");
    }
}
