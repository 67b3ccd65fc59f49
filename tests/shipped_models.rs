//! The pretrained models shipped in `models/`: each loads from its folder, and what its card records is
//! recomputed: the generator's `imag_ratio`, and every forecast error of the card's table, from the
//! model's own recipe (regenerated into the cache) with the card's command.

mod common;
use common::laligan;
use std::path::{Path, PathBuf};

/// The shipped models: folders of `models/` with weights.
fn shipped() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("model.safetensors").exists())
        .collect();
    dirs.sort();
    dirs
}

/// The rows `| \`name\` | number | ...` of a card's tables: (name, first number).
fn card_rows(card: &str) -> Vec<(String, f64)> {
    card.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.split('`').next()?;
            let value: f64 = cells.get(2)?.parse().ok()?;
            Some((name.to_string(), value))
        })
        .collect()
}

#[test]
fn shipped_models_reproduce_their_cards() {
    let models = shipped();
    assert!(
        models.iter().any(|d| d.ends_with("pendulum")),
        "models/pendulum ships: {models:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in models {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            card.starts_with("---\nlibrary_name: laligan\n"),
            "{name}: card front matter"
        );
        let rows = card_rows(&card);
        let spec = format!("models/{name}");

        // The generator's score, recomputed from the weights.
        let r = laligan(root, &["-q", "inspect", &spec]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let (_, want) = rows
            .iter()
            .find(|(n, _)| n == "imag_ratio")
            .unwrap_or_else(|| panic!("{name}: the card has no imag_ratio row"));
        let got: f64 = r
            .stdout
            .split("imag_ratio ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{name}: inspect shows no imag_ratio: {}", r.stdout));
        assert!(
            (got - want).abs() < 1e-3,
            "{name}: imag_ratio {got}, card {want}"
        );

        // Every forecast error of the card (each rounded to 3 significant digits there).
        let out = tmp.path().join(&name);
        let r = laligan(
            root,
            &[
                "-q",
                "forecast",
                "--model",
                &spec,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let fc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("forecast.json")).unwrap())
                .unwrap();
        let methods = fc["methods"].as_object().unwrap();
        let mut compared = 0;
        for (method, want) in &rows {
            if let Some(m) = methods.get(method) {
                let got = m["horizon_mean"].as_f64().unwrap();
                assert!(
                    (got - want).abs() <= 5e-3 * want.abs().max(0.01),
                    "{name}: {method} horizon mean {got}, card {want}"
                );
                compared += 1;
            }
        }
        assert!(
            compared >= 5,
            "{name}: only {compared} forecast rows compared"
        );
        assert!(
            methods.contains_key("laligan-sindy"),
            "{name}: no latent forecast"
        );
    }
}
