//! Identifiers: the unique battery identifier (ISO/IEC 15459 structure), the passport
//! identifier, and the QR code that carries the passport's public address.
//!
//! An ISO/IEC 15459 unique identifier is the issuing agency code (IAC, assigned under
//! ISO/IEC 15459-2: one digit for GS1, letters for the other agencies), the company
//! identification number the agency gave the company, and a serial number the company gives
//! the item, unique under its company number. On a label they are concatenated behind the data
//! identifier `25S` (ISO/IEC 15418); that form cannot be split again without the agency's
//! rules for the length of company numbers, so the text form here separates the three parts
//! with `:` (`LA:TSUNAGU:PACK-0001`), a character none of them may contain.

use std::fmt;
use std::str::FromStr;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::{CryptoRng, RngCore};
use thiserror::Error;

/// The longest unique item identifier ISO/IEC 15459-4 allows (without the data identifier).
pub const MAX_IDENTIFIER_LEN: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentifierError {
    #[error(
        "a battery identifier has three parts, issuing agency:company:serial, e.g. LA:TSUNAGU:PACK-0001"
    )]
    Parts,
    #[error(
        "the issuing agency code must be one digit (GS1) or one to three capital letters and digits starting with a letter"
    )]
    AgencyCode,
    #[error(
        "the {part} may hold only capital letters A-Z, digits, '-' and '.', and must not be empty"
    )]
    Characters { part: &'static str },
    #[error(
        "the identifier is {len} characters long; ISO/IEC 15459 allows at most {MAX_IDENTIFIER_LEN}"
    )]
    TooLong { len: usize },
    #[error("a passport identifier is a UUID, urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
    PassportId,
    #[error("the QR code cannot hold this address")]
    QrData,
    #[error("writing the PNG failed: {0}")]
    Png(String),
}

/// A unique battery identifier (Art. 77(3), Annex VI Part A: ISO/IEC 15459).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatteryIdentifier {
    agency: String,
    company: String,
    serial: String,
}

fn is_item_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '.'
}

impl BatteryIdentifier {
    pub fn new(
        agency: &str,
        company: &str,
        serial: &str,
    ) -> Result<BatteryIdentifier, IdentifierError> {
        let agency_ok = match agency.as_bytes() {
            [d] if d.is_ascii_digit() => true,
            [first, rest @ ..] if first.is_ascii_uppercase() && rest.len() <= 2 => rest
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            _ => false,
        };
        if !agency_ok {
            return Err(IdentifierError::AgencyCode);
        }
        if company.is_empty() || !company.chars().all(is_item_char) {
            return Err(IdentifierError::Characters {
                part: "company identification number",
            });
        }
        if serial.is_empty() || !serial.chars().all(is_item_char) {
            return Err(IdentifierError::Characters {
                part: "serial number",
            });
        }
        let len = agency.len() + company.len() + serial.len();
        if len > MAX_IDENTIFIER_LEN {
            return Err(IdentifierError::TooLong { len });
        }
        Ok(BatteryIdentifier {
            agency: agency.to_owned(),
            company: company.to_owned(),
            serial: serial.to_owned(),
        })
    }

    pub fn parse(text: &str) -> Result<BatteryIdentifier, IdentifierError> {
        let mut parts = text.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(agency), Some(company), Some(serial), None) => {
                BatteryIdentifier::new(agency, company, serial)
            }
            _ => Err(IdentifierError::Parts),
        }
    }

    pub fn agency(&self) -> &str {
        &self.agency
    }

    pub fn company(&self) -> &str {
        &self.company
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The label form: data identifier `25S`, then the three parts without separators.
    pub fn label_form(&self) -> String {
        format!("25S{}{}{}", self.agency, self.company, self.serial)
    }
}

impl fmt::Display for BatteryIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.agency, self.company, self.serial)
    }
}

impl FromStr for BatteryIdentifier {
    type Err = IdentifierError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        BatteryIdentifier::parse(text)
    }
}

/// A passport identifier: a random (version 4) UUID, written `urn:uuid:…` in the passport
/// and bare in addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassportId(uuid::Uuid);

impl PassportId {
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> PassportId {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        PassportId(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Accepts `urn:uuid:…` and the bare form, any case.
    pub fn parse(text: &str) -> Result<PassportId, IdentifierError> {
        let bare = text.strip_prefix("urn:uuid:").unwrap_or(text);
        if !crate::model::is_uuid(bare) {
            return Err(IdentifierError::PassportId);
        }
        uuid::Uuid::parse_str(bare)
            .map(PassportId)
            .map_err(|_| IdentifierError::PassportId)
    }

    pub fn urn(&self) -> String {
        format!("urn:uuid:{}", self.0.hyphenated())
    }
}

impl fmt::Display for PassportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// Error correction level M (15 %) survives a scratched label and keeps the code small.
fn qr(data: &str) -> Result<QrCode, IdentifierError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| IdentifierError::QrData)
}

/// The QR code of `data` as a standalone SVG document (with the four-module quiet zone).
pub fn qr_svg(data: &str) -> Result<String, IdentifierError> {
    Ok(qr(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Pixels per module of the PNG.
const PNG_SCALE: usize = 8;
/// Modules of white around the code, as ISO/IEC 18004 requires.
const QUIET_ZONE: usize = 4;

/// The QR code of `data` as an 8-bit greyscale PNG, eight pixels per module.
pub fn qr_png(data: &str) -> Result<Vec<u8>, IdentifierError> {
    let code = qr(data)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                for dy in 0..PNG_SCALE {
                    let row = (y + QUIET_ZONE) * PNG_SCALE + dy;
                    let start = row * side + (x + QUIET_ZONE) * PNG_SCALE;
                    pixels[start..start + PNG_SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side).map_err(|_| IdentifierError::QrData)?;
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| IdentifierError::Png(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| IdentifierError::Png(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn battery_identifiers_parse_format_and_refuse() {
        let id = BatteryIdentifier::parse("LA:TSUNAGU:PACK-0001").unwrap();
        assert_eq!(
            (id.agency(), id.company(), id.serial()),
            ("LA", "TSUNAGU", "PACK-0001")
        );
        assert_eq!(id.to_string(), "LA:TSUNAGU:PACK-0001");
        assert_eq!(id.label_form(), "25SLATSUNAGUPACK-0001");
        assert_eq!(
            BatteryIdentifier::parse("0:4512345:SN.1").unwrap().agency(),
            "0"
        );

        let refused = [
            ("LA:TSUNAGU", IdentifierError::Parts),
            ("LA:TSUNAGU:PACK:1", IdentifierError::Parts),
            ("01:TSUNAGU:PACK", IdentifierError::AgencyCode),
            ("LAXX:TSUNAGU:PACK", IdentifierError::AgencyCode),
            ("la:TSUNAGU:PACK", IdentifierError::AgencyCode),
            (":TSUNAGU:PACK", IdentifierError::AgencyCode),
            (
                "LA:tsunagu:PACK",
                IdentifierError::Characters {
                    part: "company identification number",
                },
            ),
            (
                "LA:TSUNAGU:",
                IdentifierError::Characters {
                    part: "serial number",
                },
            ),
            (
                "LA:TSUNAGU:PACK 1",
                IdentifierError::Characters {
                    part: "serial number",
                },
            ),
            (
                "LA:TSUNAGU:<script>",
                IdentifierError::Characters {
                    part: "serial number",
                },
            ),
        ];
        for (text, expected) in refused {
            assert_eq!(
                BatteryIdentifier::parse(text).unwrap_err(),
                expected,
                "{text}"
            );
        }
        let long = format!("LA:TSUNAGU:{}", "9".repeat(42));
        assert_eq!(
            BatteryIdentifier::parse(&long).unwrap_err(),
            IdentifierError::TooLong { len: 51 }
        );
    }

    #[test]
    fn passport_ids_are_random_v4_and_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let id = PassportId::random(&mut rng);
        assert_eq!(id.0.get_version_num(), 4);
        assert_eq!(PassportId::parse(&id.urn()).unwrap(), id);
        assert_eq!(PassportId::parse(&id.to_string()).unwrap(), id);
        assert_ne!(PassportId::random(&mut rng), id);
        assert!(PassportId::parse("urn:uuid:nope").is_err());
        assert!(PassportId::parse("../../etc/passwd").is_err());
    }

    #[test]
    fn qr_codes_are_svg_and_png() {
        let url = "https://passport.example/passports/6f1f9a4e-1c9b-4d8e-9f55-2a8f3c1d7e01";
        let svg = qr_svg(url).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg"),
            "{}",
            &svg[..80]
        );
        let png = qr_png(url).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // Decode it again: square, and the quiet zone is white.
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buffer).unwrap();
        assert_eq!(info.width, info.height);
        assert_eq!(buffer[0], 255);
        let modules = info.width as usize / PNG_SCALE - 2 * QUIET_ZONE;
        assert_eq!(modules, qr(url).unwrap().width());
        // The top-left finder pattern starts dark right after the quiet zone.
        let corner = (QUIET_ZONE * PNG_SCALE) * info.width as usize + QUIET_ZONE * PNG_SCALE;
        assert_eq!(buffer[corner], 0);
    }
}
