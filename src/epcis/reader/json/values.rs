//! JSON members as the model's extension elements, the inverse of what the JSON-LD writer
//! does: `prefix:name` → namespace + local name, an object → child elements, an array → one
//! element per item, a scalar → text (a number as written, `true`/`false`, `null` empty).

use super::context::{Context, UnknownPrefix};
use super::lexer::{Kind, Scalar, Value};
use crate::epcis::model::ExtensionElement;

/// The text of a scalar in the model.
pub(super) fn scalar_text(s: &Scalar) -> String {
    match s.kind {
        Kind::Null => String::new(),
        _ => s.text.trim().to_owned(),
    }
}

/// The elements one member stands for (several when its value is an array).
pub(super) fn element(
    ctx: &Context,
    key: &str,
    value: &Value,
) -> Result<Vec<ExtensionElement>, UnknownPrefix> {
    let name = ctx.expand(key)?;
    let mut out = Vec::new();
    push_elements(ctx, &name, value, &mut out)?;
    Ok(out)
}

fn push_elements(
    ctx: &Context,
    name: &super::context::Name,
    value: &Value,
    out: &mut Vec<ExtensionElement>,
) -> Result<(), UnknownPrefix> {
    match value {
        Value::Array(items, _) => {
            for i in items {
                push_elements(ctx, name, i, out)?;
            }
        }
        Value::Scalar(s, _) => out.push(ExtensionElement {
            namespace: name.namespace.clone(),
            prefix: name.prefix.clone(),
            local_name: name.local.clone(),
            text: scalar_text(s),
            ..ExtensionElement::default()
        }),
        Value::Object(members, _) => {
            let mut el = ExtensionElement {
                namespace: name.namespace.clone(),
                prefix: name.prefix.clone(),
                local_name: name.local.clone(),
                ..ExtensionElement::default()
            };
            for (k, v) in members {
                match (k.as_str(), v) {
                    ("@value", Value::Scalar(s, _)) => el.text = scalar_text(s),
                    _ if k.starts_with('@') => {}
                    _ => el.children.extend(element(ctx, k, v)?),
                }
            }
            out.push(el);
        }
    }
    Ok(())
}
