//! Pack labels: a GS1 DataMatrix (ECC 200, FNC1 in first position) carrying
//! (01) GTIN (21) serial (17) expiry (10) lot, with a quiet zone, and the human-readable text
//! pharma packs print beside it (GTIN, SN, LOT, EXP, and the NDC for US products).
//!
//! SVG is the whole label (symbol and text); PNG is the symbol with its quiet zone only, for
//! label software that lays out its own text. Identifiers arrive parsed (`gs1` newtypes), so a
//! wrong check digit or a character outside CSET 82 never reaches the encoder.

use std::fmt::Write as _;

use datamatrix::{DataMatrix, SymbolList};

use crate::gs1::{Expiry, Gtin, Lot, Ndc, SerialNumber, GS};

/// Pixels per module: 4 px at 96 dpi is 0.26 mm, within the GS1 range for pharma packs.
pub const MODULE_PX: usize = 4;
/// Quiet zone in modules on every side (GS1 DataMatrix needs at least 1).
pub const QUIET_MODULES: usize = 2;

#[derive(Debug, Clone)]
pub struct LabelData {
    pub gtin: Gtin,
    pub serial: SerialNumber,
    pub lot: Option<Lot>,
    pub expiry: Option<Expiry>,
    /// NDC as it should be printed (e.g. from master data); else derived from a US GTIN.
    pub ndc: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("the data does not fit a DataMatrix symbol: {0}")]
    Encode(String),
    #[error("PNG: {0}")]
    Png(String),
}

impl LabelData {
    /// The element string, GS after the serial when more follows: `01…21…<GS>17…10…`.
    pub fn element_string(&self) -> String {
        let mut s = format!("01{}21{}", self.gtin.as_str(), self.serial.as_str());
        if self.expiry.is_some() || self.lot.is_some() {
            s.push(char::from(GS));
        }
        if let Some(e) = &self.expiry {
            // AI 17 has a predefined length: no separator after it.
            write!(s, "17{}", e.as_str()).expect("write to String");
        }
        if let Some(l) = &self.lot {
            write!(s, "10{}", l.as_str()).expect("write to String");
        }
        s
    }

    /// The NDC line: the configured text, else the 10 NDC digits of a `03` US GTIN.
    pub fn ndc_text(&self) -> Option<String> {
        self.ndc.clone().or_else(|| {
            Ndc::from_gtin(&self.gtin)
                .ok()
                .map(|n| n.digits_str().to_string())
        })
    }

    /// Human-readable lines, as printed beside the symbol.
    pub fn text_lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("GTIN", self.gtin.as_str().to_string()),
            ("SN", self.serial.as_str().to_string()),
        ];
        if let Some(l) = &self.lot {
            lines.push(("LOT", l.as_str().to_string()));
        }
        if let Some(e) = &self.expiry {
            let d = e.date();
            let text = if e.day_unspecified() {
                d.format("%Y-%m").to_string()
            } else {
                d.format("%Y-%m-%d").to_string()
            };
            lines.push(("EXP", text));
        }
        if let Some(n) = self.ndc_text() {
            lines.push(("NDC", n));
        }
        lines
    }

    /// The symbol's modules (true = dark), row by row, without quiet zone.
    pub fn symbol(&self) -> Result<(usize, usize, Vec<bool>), LabelError> {
        let code = DataMatrix::encode_gs1(self.element_string().as_bytes(), SymbolList::default())
            .map_err(|e| LabelError::Encode(format!("{e:?}")))?;
        let bitmap = code.bitmap();
        Ok((bitmap.width(), bitmap.height(), bitmap.bits().to_vec()))
    }

    /// The whole label as SVG: symbol with quiet zone on the left, text on the right.
    pub fn svg(&self) -> Result<String, LabelError> {
        let (w, h, bits) = self.symbol()?;
        let m = MODULE_PX;
        let q = QUIET_MODULES;
        let sym_w = (w + 2 * q) * m;
        let sym_h = (h + 2 * q) * m;
        let lines = self.text_lines();
        let font = 12;
        let text_w = 12
            + lines
                .iter()
                .map(|(k, v)| (k.len() + 1 + v.len()) * 8)
                .max()
                .unwrap_or(0);
        let width = sym_w + text_w;
        let height = sym_h.max(8 + lines.len() * (font + 4));
        let mut out = String::with_capacity(2048 + bits.len() * 8);
        write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
             <rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
        )
        .expect("write to String");
        // One horizontal run of dark modules per path segment.
        for y in 0..h {
            let mut x = 0;
            while x < w {
                if bits[y * w + x] {
                    let start = x;
                    while x < w && bits[y * w + x] {
                        x += 1;
                    }
                    write!(
                        out,
                        "M{} {}h{}v{}h-{}z",
                        (start + q) * m,
                        (y + q) * m,
                        (x - start) * m,
                        m,
                        (x - start) * m
                    )
                    .expect("write to String");
                } else {
                    x += 1;
                }
            }
        }
        out.push_str("\"/>");
        write!(
            out,
            "<g font-family=\"DejaVu Sans Mono, monospace\" font-size=\"{font}\" fill=\"#000\">"
        )
        .expect("write to String");
        for (i, (k, v)) in lines.iter().enumerate() {
            write!(
                out,
                "<text x=\"{}\" y=\"{}\">{k} ",
                sym_w + 6,
                4 + (i + 1) * (font + 4)
            )
            .expect("write to String");
            xml_escape(v, &mut out);
            out.push_str("</text>");
        }
        out.push_str("</g></svg>");
        Ok(out)
    }

    /// The symbol with its quiet zone as a 1-bit grayscale PNG.
    pub fn png(&self) -> Result<Vec<u8>, LabelError> {
        let (w, h, bits) = self.symbol()?;
        let (m, q) = (MODULE_PX, QUIET_MODULES);
        let (pw, ph) = ((w + 2 * q) * m, (h + 2 * q) * m);
        let row_bytes = pw.div_ceil(8);
        let mut data = vec![0xFFu8; row_bytes * ph];
        for y in 0..h {
            for x in 0..w {
                if bits[y * w + x] {
                    for dy in 0..m {
                        let row = (y + q) * m + dy;
                        for dx in 0..m {
                            let col = (x + q) * m + dx;
                            data[row * row_bytes + col / 8] &= !(0x80 >> (col % 8));
                        }
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(data.len() / 4 + 128);
        {
            let mut enc = png::Encoder::new(&mut out, pw as u32, ph as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let mut writer = enc
                .write_header()
                .map_err(|e| LabelError::Png(e.to_string()))?;
            writer
                .write_image_data(&data)
                .map_err(|e| LabelError::Png(e.to_string()))?;
        }
        Ok(out)
    }
}

/// Escapes text for SVG/XML content (CSET 82 has `&`, `<`, `>`, `"`, `'`).
fn xml_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(serial: &str, lot: Option<&str>, exp: Option<&str>) -> LabelData {
        LabelData {
            gtin: "00312345678906".parse().unwrap(),
            serial: serial.parse().unwrap(),
            lot: lot.map(|l| l.parse().unwrap()),
            expiry: exp.map(|e| e.parse().unwrap()),
            ndc: None,
        }
    }

    #[test]
    fn the_element_string_puts_a_gs_after_the_serial_only_when_more_follows() {
        assert_eq!(
            data("A1", Some("L<1"), Some("281231")).element_string(),
            "010031234567890621A1\u{1d}1728123110L<1"
        );
        assert_eq!(
            data("A1", None, None).element_string(),
            "010031234567890621A1"
        );
        assert_eq!(
            data("A1", Some("L1"), None).element_string(),
            "010031234567890621A1\u{1d}10L1"
        );
    }

    #[test]
    fn the_svg_escapes_markup_characters_and_shows_the_ndc_of_a_us_gtin() {
        let svg = data("<&>\"'", Some("L1"), Some("281200")).svg().unwrap();
        assert!(svg.contains("SN &lt;&amp;&gt;&quot;&apos;</text>"), "{svg}");
        assert!(svg.contains("EXP 2028-12</text>"));
        assert!(svg.contains("NDC 1234567890</text>"));
        let png = data("1", None, None).png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
