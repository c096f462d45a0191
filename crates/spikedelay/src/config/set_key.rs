//! `RunConfig::with_key`: one dotted key (`model.delays`, `train.max_lr`, `data.dir`) set from
//! text, as a sweep's grid does. The value is read as the key's own TOML type (a string key takes
//! any text; a number key takes a number), so `--grid model.delays=fixed` and
//! `--grid train.epochs=3` both mean what they say; the result is validated like a config file.

use super::RunConfig;
use crate::error::{Error, Result};

impl RunConfig {
    /// A copy with `key` (dotted, `table.key`) set to `value` (TOML text: `fixed`, `3`, `0.01`,
    /// `true`, `[256, 256]`). Unknown keys, values of the wrong type and invalid settings are
    /// errors naming the key.
    pub fn with_key(&self, key: &str, value: &str) -> Result<RunConfig> {
        let mut table: toml::Table =
            toml::from_str(&self.to_toml()).expect("a RunConfig's TOML parses");
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(Error::config(
                key,
                "is not a dotted key such as `model.delays` or `train.epochs`",
            ));
        }
        let (last, tables) = parts.split_last().expect("split yields one part at least");
        let mut at = &mut table;
        for (depth, part) in tables.iter().enumerate() {
            let entry = at
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = entry.as_table_mut().ok_or_else(|| {
                Error::config(
                    parts[..=depth].join("."),
                    "is a value, not a table, so it has no keys below it",
                )
            })?;
        }
        let parsed = parse_value(at.get(*last), value)
            .map_err(|expected| Error::config(key, format!("expects {expected}, got `{value}`")))?;
        at.insert(last.to_string(), parsed);
        let config =
            RunConfig::from_table(table, std::path::Path::new("<grid>")).map_err(|e| match e {
                Error::ConfigParse { message, .. } => {
                    Error::config(key, format!("= `{value}` is not accepted: {message}"))
                }
                other => other,
            })?;
        config.validate()?;
        Ok(config)
    }
}

/// `text` as a TOML value of `existing`'s type (any TOML value where the key is unset).
fn parse_value(
    existing: Option<&toml::Value>,
    text: &str,
) -> std::result::Result<toml::Value, &'static str> {
    let generic = || -> Option<toml::Value> {
        toml::from_str::<toml::Table>(&format!("v = {text}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
    };
    match existing {
        Some(toml::Value::String(_)) => Ok(toml::Value::String(match generic() {
            Some(toml::Value::String(s)) => s,
            _ => text.to_string(),
        })),
        Some(toml::Value::Integer(_)) => text
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| "an integer"),
        Some(toml::Value::Float(_)) => text
            .parse::<f64>()
            .map(toml::Value::Float)
            .map_err(|_| "a number"),
        Some(toml::Value::Boolean(_)) => text
            .parse::<bool>()
            .map(toml::Value::Boolean)
            .map_err(|_| "true or false"),
        Some(toml::Value::Array(_)) => match generic() {
            Some(v @ toml::Value::Array(_)) => Ok(v),
            _ => Err("an array such as [256, 256]"),
        },
        Some(toml::Value::Table(_)) => Err("a table's keys (name one of them: `table.key`)"),
        _ => Ok(generic().unwrap_or_else(|| toml::Value::String(text.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DelayMode;

    #[test]
    fn sets_keys_by_their_own_type() {
        let base = RunConfig::default();
        let c = base.with_key("model.delays", "fixed").unwrap();
        assert_eq!(c.model.delays, DelayMode::Fixed);
        let c = c.with_key("train.epochs", "3").unwrap();
        assert_eq!(c.train.epochs, 3);
        let c = c.with_key("train.max_lr", "1").unwrap();
        assert_eq!(c.train.max_lr, 1.0);
        assert_eq!(base.train.epochs, RunConfig::default().train.epochs);
    }

    #[test]
    fn bad_keys_and_values_name_the_key() {
        let base = RunConfig::default();
        for (key, value, words) in [
            ("train.epochs", "three", "expects an integer"),
            ("train.epochs", "0", "at least 1"),
            ("model.delays", "sideways", "model.delays"),
            ("train.nonsense", "1", "train.nonsense"),
            ("train..epochs", "1", "dotted key"),
            ("train", "1", "table"),
        ] {
            let e = base.with_key(key, value).unwrap_err().to_string();
            assert!(e.contains(words), "{key}={value}: {e}");
        }
    }
}
