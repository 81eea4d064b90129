//! Extension elements and sensor data as JSON members: `prefix:name` keys, repeated names as
//! arrays, sensor report attributes typed (numbers, booleans, GS1 words); what the JSON binding
//! has no place for is counted as dropped.

use std::io::{self, Write};

use super::prefixes::Prefixes;
use super::JsonLdWriter;
use crate::epcis::model::ExtensionElement;
use crate::epcis::write::is_cbvmda;

/// Sensor report attributes that are numbers in JSON.
const SENSOR_NUMBERS: &[&str] = &[
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
];

impl<W: Write> JsonLdWriter<W> {
    pub(super) fn sensor_element(&mut self, s: &ExtensionElement) -> io::Result<()> {
        self.raw("{")?;
        let mut first = true;
        let meta = s
            .children
            .iter()
            .find(|c| c.namespace.is_empty() && c.local_name == "sensorMetadata");
        if let Some(m) = meta {
            self.raw("\"sensorMetadata\":")?;
            self.sensor_part(m)?;
            first = false;
        }
        let reports: Vec<&ExtensionElement> = s
            .children
            .iter()
            .filter(|c| c.namespace.is_empty() && c.local_name == "sensorReport")
            .collect();
        if !reports.is_empty() {
            if !first {
                self.raw(",")?;
            }
            self.raw("\"sensorReport\":[")?;
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    self.raw(",")?;
                }
                self.sensor_part(r)?;
            }
            self.raw("]")?;
            first = false;
        }
        let ext: Vec<ExtensionElement> = s
            .children
            .iter()
            .filter(|c| !c.namespace.is_empty())
            .cloned()
            .collect();
        self.dropped += s
            .children
            .iter()
            .filter(|c| {
                c.namespace.is_empty()
                    && c.local_name != "sensorMetadata"
                    && c.local_name != "sensorReport"
            })
            .count() as u64;
        let scope = std::mem::take(&mut self.local);
        let r = self.members(&ext, &scope, first);
        self.local = scope;
        r?;
        self.raw("}")
    }

    /// sensorMetadata or one sensorReport: its attributes as members.
    fn sensor_part(&mut self, el: &ExtensionElement) -> io::Result<()> {
        self.raw("{")?;
        let mut first = true;
        for (k, v) in &el.attributes {
            if k.contains(':') {
                // A namespaced attribute: the model did not keep its namespace.
                self.dropped += 1;
                continue;
            }
            if !first {
                self.raw(",")?;
            }
            first = false;
            self.string(k)?;
            self.raw(":")?;
            let v = v.trim();
            if SENSOR_NUMBERS.contains(&k.as_str()) {
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() => self.number(n)?,
                    _ => self.string(v)?,
                }
            } else if k == "booleanValue" {
                match v {
                    "true" | "1" => self.raw("true")?,
                    "false" | "0" => self.raw("false")?,
                    _ => self.string(v)?,
                }
            } else if k == "type" || k == "exception" {
                // `gs1:Temperature` in XML is the GS1 context's `Temperature`.
                let word = v
                    .strip_prefix("gs1:")
                    .or_else(|| v.strip_prefix("https://gs1.org/voc/"))
                    .unwrap_or(v);
                self.string(word)?;
            } else {
                self.string(v)?;
            }
        }
        let ext: Vec<ExtensionElement> = el
            .children
            .iter()
            .filter(|c| !c.namespace.is_empty())
            .cloned()
            .collect();
        let scope = std::mem::take(&mut self.local);
        let r = self.members(&ext, &scope, first);
        self.local = scope;
        r?;
        self.raw("}")
    }

    /// Elements as object members (`"prefix:name": value`); elements of one name become an
    /// array. `first`: no member written before in this object.
    pub(super) fn members(
        &mut self,
        elements: &[ExtensionElement],
        scope: &Prefixes,
        mut first: bool,
    ) -> io::Result<()> {
        let mut done = vec![false; elements.len()];
        for i in 0..elements.len() {
            if done[i] {
                continue;
            }
            let el = &elements[i];
            let same: Vec<usize> = (i..elements.len())
                .filter(|&j| {
                    elements[j].namespace == el.namespace && elements[j].local_name == el.local_name
                })
                .collect();
            if !first {
                self.raw(",")?;
            }
            first = false;
            let key = self.key(el, scope);
            self.string(&key)?;
            self.raw(":")?;
            if same.len() > 1 {
                self.raw("[")?;
                for (n, &j) in same.iter().enumerate() {
                    done[j] = true;
                    if n > 0 {
                        self.raw(",")?;
                    }
                    self.element_value(&elements[j], scope)?;
                }
                self.raw("]")?;
            } else {
                done[i] = true;
                self.element_value(el, scope)?;
            }
        }
        Ok(())
    }

    fn element_value(&mut self, el: &ExtensionElement, scope: &Prefixes) -> io::Result<()> {
        // Attributes of extension elements have no place in the JSON binding.
        self.dropped += el.attributes.len() as u64;
        if el.children.is_empty() {
            return self.string(&el.text);
        }
        if !el.text.is_empty() {
            self.dropped += 1;
        }
        self.raw("{")?;
        self.members(&el.children, scope, true)?;
        self.raw("}")
    }

    fn key(&self, el: &ExtensionElement, scope: &Prefixes) -> String {
        if el.namespace.is_empty() {
            return el.local_name.clone();
        }
        let prefix = if is_cbvmda(&el.namespace) {
            Some("cbvmda")
        } else {
            scope
                .get(&el.namespace)
                .or_else(|| self.doc_prefixes.get(&el.namespace))
        };
        match prefix {
            Some(p) => format!("{p}:{}", el.local_name),
            // Not bound (cannot happen: every tree is bound before it is written): the IRI.
            None => format!("{}{}", el.namespace, el.local_name),
        }
    }
}
