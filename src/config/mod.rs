//! Strict TOML configs: unknown keys and wrong types are errors that name the file and the key path and
//! suggest the closest valid key; `--set key=value` overrides any key that exists; the resolved config
//! (every default filled in) can be written back as TOML.

mod check;
mod suggest;

pub use check::{Checker, Validate};
pub use suggest::closest;

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// Parses `text` (named `origin` in errors) into `T`, then applies `overrides` (`a.b=value`).
pub fn parse<T: DeserializeOwned + Serialize>(
    text: &str,
    origin: &str,
    overrides: &[String],
) -> Result<T> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        config_err!("{origin}: invalid TOML: {}", e.to_string().trim_end())
    })?;
    let parsed: T = from_value(toml::Value::Table(table), origin)?;
    if overrides.is_empty() {
        return Ok(parsed);
    }
    let mut resolved = to_value(&parsed)?;
    for ov in overrides {
        apply_override(&mut resolved, ov, origin)?;
    }
    from_value(
        resolved,
        &format!("{origin} with --set {}", overrides.join(" --set ")),
    )
}

/// Parses the text of one section (`name` in errors) and checks its values.
pub fn parse_section<T: DeserializeOwned + Serialize + Validate>(
    text: &str,
    name: &str,
) -> Result<T> {
    let v: T = parse(text, &format!("[{name}]"), &[])?;
    let mut c = Checker::default();
    c.check(name, &v);
    c.result(&format!("[{name}]"))?;
    Ok(v)
}

/// Reads and parses a config file.
pub fn load<T: DeserializeOwned + Serialize>(path: &Path, overrides: &[String]) -> Result<T> {
    let text = crate::io::read_text(path)?;
    parse(&text, &path.display().to_string(), overrides)
}

/// The resolved config as TOML text.
pub fn to_toml<T: Serialize>(cfg: &T) -> Result<String> {
    toml::to_string(cfg).map_err(|e| config_err!("cannot write config as TOML: {e}"))
}

fn to_value<T: Serialize>(cfg: &T) -> Result<toml::Value> {
    toml::Value::try_from(cfg).map_err(|e| config_err!("cannot resolve config: {e}"))
}

fn from_value<T: DeserializeOwned>(value: toml::Value, origin: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().message().to_string();
        let mut msg = if path == "." || path.is_empty() {
            format!("{origin}: {inner}")
        } else {
            format!("{origin}: key `{path}`: {inner}")
        };
        if let Some((unknown, expected)) = parse_unknown_field(&inner) {
            if let Some(best) = closest(&unknown, expected.iter().map(String::as_str)) {
                msg.push_str(&format!(" (did you mean `{best}`?)"));
            }
        }
        Error::Config(msg)
    })
}

/// Extracts (unknown, expected names) from serde's "unknown field `x`, expected one of `a`, `b`".
fn parse_unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg
        .strip_prefix("unknown field `")
        .or_else(|| msg.strip_prefix("unknown variant `"))?;
    let (unknown, tail) = rest.split_once('`')?;
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((unknown.to_string(), expected))
}

/// Applies one `a.b.c=value` override to a resolved config; the key must already exist.
fn apply_override(root: &mut toml::Value, ov: &str, origin: &str) -> Result<()> {
    let (key, raw) = ov
        .split_once('=')
        .ok_or_else(|| config_err!("--set {ov}: expected key=value"))?;
    let key = key.trim();
    let value = parse_value(raw.trim());
    let parts: Vec<&str> = key.split('.').collect();
    let mut node = &mut *root;
    for (i, part) in parts.iter().enumerate() {
        let here = parts[..i].join(".");
        let table = node.as_table_mut().ok_or_else(|| {
            config_err!("--set {key}: `{here}` is a value, not a section, in {origin}")
        })?;
        if !table.contains_key(*part) {
            let candidates: Vec<String> = table
                .keys()
                .map(|k| {
                    if here.is_empty() {
                        k.clone()
                    } else {
                        format!("{here}.{k}")
                    }
                })
                .collect();
            let hint = closest(key, candidates.iter().map(String::as_str))
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(config_err!(
                "--set {key}: no key `{key}` in {origin}{hint}; valid keys here: {}",
                candidates.join(", ")
            ));
        }
        node = table.get_mut(*part).expect("checked above");
    }
    *node = value;
    Ok(())
}

/// A value as TOML (`3`, `1e-3`, `true`, `"s"`, `[1, 2]`); anything else is taken as a bare string.
fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Every key path of a resolved config (`a.b.c`), for listings and suggestions.
pub fn key_paths<T: Serialize>(cfg: &T) -> Result<Vec<String>> {
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    walk(&p, v, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", &to_value(cfg)?, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        seed: u64,
        #[serde(default)]
        train: Train,
    }
    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Train {
        epochs: usize,
        lr: f64,
        name: String,
    }
    impl Default for Train {
        fn default() -> Self {
            Self {
                epochs: 3,
                lr: 1e-3,
                name: "x".into(),
            }
        }
    }

    fn err(text: &str, ov: &[&str]) -> String {
        let ov: Vec<String> = ov.iter().map(|s| s.to_string()).collect();
        parse::<Cfg>(text, "cfg.toml", &ov).unwrap_err().to_string()
    }

    #[test]
    fn defaults_and_overrides() {
        let c: Cfg = parse(
            "seed = 1",
            "c",
            &["train.epochs=7".into(), "train.name=abc".into()],
        )
        .unwrap();
        assert_eq!(c.train.epochs, 7);
        assert_eq!(c.train.name, "abc");
        assert_eq!(c.train.lr, 1e-3);
        let text = to_toml(&c).unwrap();
        let back: Cfg = parse(&text, "c", &[]).unwrap();
        assert_eq!(back, c);
        assert_eq!(
            key_paths(&c).unwrap(),
            vec!["seed", "train.epochs", "train.lr", "train.name"]
        );
    }

    #[test]
    fn unknown_key_names_file_path_and_suggestion() {
        let e = err("seed = 1\n[train]\nepochz = 3\n", &[]);
        assert!(
            e.contains("cfg.toml") && e.contains("epochz") && e.contains("did you mean `epochs`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_key_and_types() {
        let e = err("seed = 1\n[train]\nepochs = \"many\"\n", &[]);
        assert!(
            e.contains("cfg.toml") && e.contains("train.epochs") && e.contains("string"),
            "{e}"
        );
    }

    #[test]
    fn override_of_missing_key_is_refused_with_suggestion() {
        let e = err("seed = 1", &["train.lrr=0.1"]);
        assert!(
            e.contains("train.lrr") && e.contains("did you mean `train.lr`"),
            "{e}"
        );
        let e = err("seed = 1", &["train.epochs=-2"]);
        assert!(e.contains("train.epochs"), "{e}");
        let e = err("seed = 1", &["nonsense"]);
        assert!(e.contains("key=value"), "{e}");
    }

    #[test]
    fn syntax_error_names_file() {
        let e = err("seed = = 1", &[]);
        assert!(e.contains("cfg.toml") && e.contains("invalid TOML"), "{e}");
    }
}
