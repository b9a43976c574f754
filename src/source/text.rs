//! The encodings input files arrive in. `terraform show -json tfplan > plan.json` in Windows
//! PowerShell 5.1 writes UTF-16 LE with a byte-order mark, other Windows tools write UTF-8 with
//! one, and the JSON and TOML parsers take UTF-8 only. Every file a user hands us (snapshots,
//! plans, what-if results, suppressions, rule files) goes through [`decode`] first, and an error
//! about its text names the encoding it was read in.

use crate::error::InputError;
use std::borrow::Cow;
use std::path::Path;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
const UTF16_LE_BOM: &[u8] = &[0xFF, 0xFE];
const UTF16_BE_BOM: &[u8] = &[0xFE, 0xFF];
const UTF32_LE_BOM: &[u8] = &[0xFF, 0xFE, 0x00, 0x00];
const UTF32_BE_BOM: &[u8] = &[0x00, 0x00, 0xFE, 0xFF];

const SAVE_AS_UTF8: &str = "save the file as UTF-8 (PowerShell: `terraform show -json tfplan | Out-File -Encoding utf8 plan.json`, or `[IO.File]::WriteAllText`), or as UTF-16 with a byte-order mark";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8WithBom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8WithBom => "UTF-8 with a byte-order mark",
            Encoding::Utf16Le => "UTF-16 LE with a byte-order mark",
            Encoding::Utf16Be => "UTF-16 BE with a byte-order mark",
        }
    }
}

/// A file's contents as UTF-8 bytes, borrowed unless they had to be transcoded.
pub struct Decoded<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub encoding: Encoding,
}

/// The UTF-8 bytes of a file read as UTF-8 (with or without a byte-order mark) or UTF-16 with a
/// byte-order mark. Plain UTF-8 is borrowed as it is: the parsers check it as they go, so a large
/// snapshot is not scanned twice.
pub fn decode<'a>(file: &Path, bytes: &'a [u8]) -> Result<Decoded<'a>, InputError> {
    let unreadable = |problem: String| InputError::new(file, None, problem, SAVE_AS_UTF8);
    if bytes.starts_with(UTF32_LE_BOM) || bytes.starts_with(UTF32_BE_BOM) {
        return Err(unreadable(
            "the file is UTF-32, which is not supported".into(),
        ));
    }
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return Ok(Decoded {
            bytes: Cow::Borrowed(rest),
            encoding: Encoding::Utf8WithBom,
        });
    }
    for (bom, encoding, unit) in [
        (
            UTF16_LE_BOM,
            Encoding::Utf16Le,
            u16::from_le_bytes as fn([u8; 2]) -> u16,
        ),
        (UTF16_BE_BOM, Encoding::Utf16Be, u16::from_be_bytes),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let text = utf16(rest, unit).map_err(|problem| {
                unreadable(format!(
                    "the file starts as {} but {problem}",
                    encoding.name()
                ))
            })?;
            return Ok(Decoded {
                bytes: Cow::Owned(text.into_bytes()),
                encoding,
            });
        }
    }
    if let Some(order) = utf16_without_bom(bytes) {
        return Err(unreadable(format!(
            "the file looks like UTF-16 {order} without a byte-order mark"
        )));
    }
    Ok(Decoded {
        bytes: Cow::Borrowed(bytes),
        encoding: Encoding::Utf8,
    })
}

/// [`decode`] for text parsed as a string (TOML): the UTF-8 is checked here, with the byte offset
/// of the first bad sequence in the error.
pub fn decode_str<'a>(
    file: &Path,
    bytes: &'a [u8],
) -> Result<(Cow<'a, str>, Encoding), InputError> {
    let decoded = decode(file, bytes)?;
    let encoding = decoded.encoding;
    let text = match decoded.bytes {
        Cow::Borrowed(bytes) => {
            Cow::Borrowed(std::str::from_utf8(bytes).map_err(|e| not_utf8(file, encoding, &e))?)
        }
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8(bytes).map_err(|e| not_utf8(file, encoding, &e.utf8_error()))?,
        ),
    };
    Ok((text, encoding))
}

/// The error for a file that is not JSON, at the line and column serde stopped at. When the bytes
/// are not UTF-8 at all, that is the error, since a line and column in undecodable text help
/// nobody.
pub fn not_json(
    file: &Path,
    decoded: &Decoded,
    error: &serde_json::Error,
    fix: &str,
) -> InputError {
    if let Err(bad) = std::str::from_utf8(&decoded.bytes) {
        return not_utf8(file, decoded.encoding, &bad);
    }
    let read_as = match decoded.encoding {
        Encoding::Utf8 => String::new(),
        other => format!(" (read as {})", other.name()),
    };
    InputError::new(
        file,
        Some(format!("line {}, column {}", error.line(), error.column())),
        format!("not valid JSON{read_as}: {error}"),
        fix,
    )
}

fn not_utf8(file: &Path, encoding: Encoding, error: &std::str::Utf8Error) -> InputError {
    InputError::new(
        file,
        Some(format!("byte {}", error.valid_up_to())),
        format!(
            "the file is not {} text: the bytes at that offset are in another encoding (Windows-1252 or Latin-1, perhaps)",
            encoding.name()
        ),
        SAVE_AS_UTF8,
    )
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    if bytes.len() % 2 != 0 {
        return Err(format!("has an odd number of bytes ({})", bytes.len() + 2));
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for (index, decoded) in char::decode_utf16(units).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(format!(
                    "has an unpaired surrogate at byte {}",
                    2 + 2 * index
                ))
            }
        }
    }
    Ok(text)
}

/// JSON and TOML start with ASCII (a bracket, a letter, white space), which UTF-16 writes as the
/// character and a zero byte; UTF-8 never has a zero byte there.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Some("BE"),
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Some("LE"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_bytes(text: &str, bom: &[u8], unit: fn(u16) -> [u8; 2]) -> Vec<u8> {
        let mut out = bom.to_vec();
        for u in text.encode_utf16() {
            out.extend(unit(u));
        }
        out
    }

    const SAMPLE: &str = "{\"name\": \"vm-ä€𝄞\"}";

    #[test]
    fn every_supported_encoding_reads_to_the_same_text() {
        let file = Path::new("plan.json");
        let inputs = [
            (SAMPLE.as_bytes().to_vec(), Encoding::Utf8),
            (
                [UTF8_BOM, SAMPLE.as_bytes()].concat(),
                Encoding::Utf8WithBom,
            ),
            (
                utf16_bytes(SAMPLE, UTF16_LE_BOM, u16::to_le_bytes),
                Encoding::Utf16Le,
            ),
            (
                utf16_bytes(SAMPLE, UTF16_BE_BOM, u16::to_be_bytes),
                Encoding::Utf16Be,
            ),
        ];
        for (bytes, encoding) in inputs {
            let decoded = decode(file, &bytes).unwrap();
            assert_eq!(decoded.encoding, encoding);
            assert_eq!(std::str::from_utf8(&decoded.bytes).unwrap(), SAMPLE);
            let (text, _) = decode_str(file, &bytes).unwrap();
            assert_eq!(text, SAMPLE);
        }
    }

    #[test]
    fn unsupported_encodings_are_named_with_the_fix() {
        let file = Path::new("plan.json");
        let no_bom = utf16_bytes(SAMPLE, &[], u16::to_le_bytes);
        let error = decode(file, &no_bom).err().unwrap();
        assert!(
            error
                .problem
                .contains("UTF-16 LE without a byte-order mark"),
            "{error}"
        );
        assert!(error.fix.contains("UTF-8"));
        let no_bom_be = utf16_bytes(SAMPLE, &[], u16::to_be_bytes);
        assert!(decode(file, &no_bom_be)
            .err()
            .unwrap()
            .problem
            .contains("UTF-16 BE"));
        let utf32 = [UTF32_LE_BOM, b"{\0\0\0"].concat();
        assert!(decode(file, &utf32)
            .err()
            .unwrap()
            .problem
            .contains("UTF-32"));
        let odd = [UTF16_LE_BOM, b"{\0}"].concat();
        assert!(decode(file, &odd)
            .err()
            .unwrap()
            .problem
            .contains("odd number of bytes"));
        let unpaired = [UTF16_LE_BOM, &[0x00, 0xD8, b'a', 0]].concat();
        let error = decode(file, &unpaired).err().unwrap();
        assert!(error.problem.contains("UTF-16 LE") && error.problem.contains("surrogate"));
    }

    #[test]
    fn latin1_is_reported_as_not_utf8_at_its_offset() {
        let file = Path::new("suppressions.toml");
        let bytes = b"rule = \"caf\xe9\"";
        let error = decode_str(file, bytes).err().unwrap();
        assert_eq!(error.place.as_deref(), Some("byte 11"));
        assert!(error.problem.contains("not UTF-8 text"), "{error}");
        let decoded = decode(file, bytes).unwrap();
        let json_error = serde_json::from_slice::<serde_json::Value>(&decoded.bytes).unwrap_err();
        let error = not_json(file, &decoded, &json_error, "fix");
        assert!(error.problem.contains("not UTF-8 text"), "{error}");
    }

    #[test]
    fn a_json_error_in_a_transcoded_file_names_the_encoding() {
        let file = Path::new("plan.json");
        let bytes = utf16_bytes("{\"a\": }", UTF16_LE_BOM, u16::to_le_bytes);
        let decoded = decode(file, &bytes).unwrap();
        let json_error = serde_json::from_slice::<serde_json::Value>(&decoded.bytes).unwrap_err();
        let error = not_json(file, &decoded, &json_error, "fix");
        assert!(
            error
                .problem
                .starts_with("not valid JSON (read as UTF-16 LE with a byte-order mark)"),
            "{error}"
        );
        assert_eq!(error.place.as_deref(), Some("line 1, column 7"));
    }
}
