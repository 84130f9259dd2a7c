//! Images in a CNAB `bundle.json` (`invocationImages` and `images`). Stub on this branch: the
//! reader is written on src-helm; `is_cnab` is what the dispatcher needs.

use super::{Found, SourceError};

/// The images of a CNAB bundle text named `file`.
pub fn find(text: &str, file: &str) -> Result<Vec<Found>, SourceError> {
    let _ = (text, file);
    Ok(Vec::new())
}

/// True for a JSON object with `schemaVersion` and `invocationImages`: the two keys every CNAB
/// bundle has and no Kubernetes object or image list does.
pub fn is_cnab(text: &str) -> bool {
    let t = text.trim_start();
    if !t.starts_with('{') {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(t) {
        Ok(serde_json::Value::Object(o)) => {
            o.contains_key("schemaVersion") && o.contains_key("invocationImages")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cnab_shape() {
        assert!(super::is_cnab(
            r#"{"schemaVersion":"v1.0.0","name":"x","invocationImages":[]}"#
        ));
        assert!(!super::is_cnab(r#"{"schemaVersion":"v1.0.0"}"#));
        assert!(!super::is_cnab(r#"["a"]"#));
        assert!(!super::is_cnab("kind: Pod\n"));
        assert!(!super::is_cnab("{not json"));
    }
}
