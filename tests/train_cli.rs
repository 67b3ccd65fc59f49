//! `laligan train` as a user runs it, on a tiny pendulum config: the run folder, determinism, exact
//! resume and clean refusals.

mod common;
use common::{laligan, refused};
use std::path::Path;

const CONFIG: &str = r#"
seed = 7
[data]
recipe = "pendulum"
recipe_set = ["pendulum.n_train=4", "pendulum.n_val=2", "pendulum.n_test=1", "pendulum.steps=40"]
tail = 1
[autoencoder]
hidden = 16
layers = 2
[discriminator]
hidden = 16
layers = 2
[lie]
threshold_every = 1
threshold = 0.05
[train]
epochs = 2
batch_size = 32
save_every = 1
eval_windows = 64
eval_points = 20
"#;

fn train(dir: &Path, out: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["train", "--config", "cfg.toml", "--out", out];
    args.extend(extra);
    laligan(dir, &args)
}

fn summary(dir: &Path) -> serde_json::Value {
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let o = s.as_object_mut().unwrap();
    o.remove("seconds");
    o.remove("seconds_per_epoch");
    s
}

#[test]
fn run_folder_determinism_resume_and_refusals() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("cfg.toml"), CONFIG).unwrap();

    // A full run leaves every file.
    let r = train(p, "a", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a = p.join("a");
    for f in [
        "config.toml",
        "model.safetensors",
        "training_state.safetensors",
        "metrics.csv",
        "summary.json",
        "train.log",
        "losses.png",
        "generators.png",
        "latent.png",
    ] {
        assert!(a.join(f).is_file(), "missing {f}");
    }
    let s = summary(&a);
    for k in [
        "generators",
        "imag_ratio",
        "skew_ratio",
        "orbit_cv",
        "recon_mse",
        "disc_acc",
        "epochs",
    ] {
        assert!(s.get(k).is_some(), "summary lacks {k}");
    }
    assert_eq!(s["epochs"], 2);
    let g: Vec<Vec<Vec<f64>>> = serde_json::from_value(s["generators"].clone()).unwrap();
    assert_eq!((g.len(), g[0].len(), g[0][0].len()), (1, 2, 2));
    let csv = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.starts_with("epoch,recon,gan,reg,chreg,disc,orbit,val_recon_mse,disc_acc,imag_ratio")
    );

    // Same config and seed: the same numbers and the same weights.
    let r = train(p, "b", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(summary(&a), summary(&p.join("b")));
    let model = |dir: &str| std::fs::read(p.join(dir).join("model.safetensors")).unwrap();
    assert_eq!(model("a"), model("b"));
    // Another seed: other weights.
    let r = train(p, "c", &["--set", "seed=8"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(model("a"), model("c"));

    // One epoch, then --resume to two: bit-identical to the uninterrupted run.
    let r = train(p, "r", &["--set", "train.epochs=1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = train(p, "r", &["--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(model("a"), model("r"));
    assert_eq!(summary(&a), summary(&p.join("r")));

    // Latent-mode discovery on the trained model: states z0, z1, the learned generator as constraint
    // (fewer free coefficients than the plain fit).
    let r = laligan(
        p,
        &[
            "discover",
            "--model",
            "a",
            "--out",
            "eq",
            "--set",
            "sindy.library=\"1 + poly(2)\"",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("eq/equations.json")).unwrap())
            .unwrap();
    assert_eq!(e["state_names"], serde_json::json!(["z0", "z1"]));
    let free = e["free_coefficients"].as_u64().unwrap();
    let plain = e["plain"]["free_coefficients"].as_u64().unwrap();
    assert!(free < plain, "{free} vs {plain}");
    assert_eq!(plain, 12);
    let text = std::fs::read_to_string(p.join("eq/equations.txt")).unwrap();
    assert!(
        text.contains("equivariant") && text.contains("plain"),
        "{text}"
    );
    refused(
        &laligan(p, &["discover", "--model", "empty", "--out", "eq2"]),
        &["config.toml"],
    );

    // Refusals: an existing run without --resume (its checkpoint stays), nothing to resume, a changed
    // config on resume, a misspelled key.
    let before = model("a");
    refused(
        &train(p, "a", &[]),
        &["already holds a training run", "--resume"],
    );
    assert_eq!(model("a"), before);
    refused(&train(p, "empty", &["--resume"]), &["no model.safetensors"]);
    refused(
        &train(p, "a", &["--resume", "--set", "train.w_gan=0.5"]),
        &["differs from the one"],
    );
    refused(
        &train(p, "x", &["--set", "train.batchsize=4"]),
        &["train.batchsize", "batch_size"],
    );
    refused(
        &train(p, "x", &["--set", "data.n_train=99"]),
        &["data.n_train = 99", "4 trajectories"],
    );
}

#[test]
fn run_pipeline_writes_a_report_and_forecast_handles_missing_equations() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("cfg.toml"),
        format!(
            "{CONFIG}[sindy]\nlibrary = \"1 + poly(2)\"\n[sindy_ae]\nepochs = 2\nbatch_size = 64\nmask_every = 1\n[forecast]\nhorizon = 30\n"
        ),
    )
    .unwrap();
    let r = laligan(p, &["run", "--config", "cfg.toml", "--out", "job"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("report:"), "{}", r.stdout);
    let job = p.join("job");
    let report = std::fs::read_to_string(job.join("report.md")).unwrap();
    // every embedded plot exists
    let imgs: Vec<&str> = report
        .split("](")
        .skip(1)
        .map(|s| s.split(')').next().unwrap())
        .collect();
    assert!(imgs.len() >= 5, "{report}");
    for i in &imgs {
        assert!(job.join(i).is_file(), "missing {i}");
    }
    assert!(report.contains("Best forecast"), "{report}");
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(job.join("forecast/forecast.json")).unwrap())
            .unwrap();
    assert_eq!(f["horizon"], 30);
    assert!((f["dt"].as_f64().unwrap() - 0.02).abs() < 1e-12);
    for m in [
        "laligan-sindy",
        "laligan-sindy-plain",
        "sindy-ae",
        "raw-sindy",
        "group-flow",
        "dmd",
        "persistence",
        "reconstruction",
    ] {
        let c = f["methods"][m]["curve"].as_array();
        assert_eq!(c.map(Vec::len), Some(31), "{m}: {}", f["methods"]);
    }
    assert!(report.contains("SINDy-autoencoder baseline"), "{report}");
    for file in [
        "model.safetensors",
        "equations/equations.json",
        "equations/discovery.safetensors",
        "history.csv",
        "sindy-ae.json",
    ] {
        assert!(job.join("sindy-ae").join(file).is_file(), "sindy-ae/{file}");
    }
    let history = std::fs::read_to_string(job.join("sindy-ae/history.csv")).unwrap();
    assert_eq!(history.lines().count(), 3, "{history}");
    // persistence scores 0 at step 0 and its first integral never drifts
    assert_eq!(f["methods"]["persistence"]["curve"][0], 0.0);
    assert_eq!(f["methods"]["persistence"]["invariant_drift"], 0.0);
    let csv = std::fs::read_to_string(job.join("forecast/forecast.csv")).unwrap();
    assert!(csv.starts_with("method,trajectory,step,t,rel_error,true_0,true_1,pred_0,pred_1"));
    assert_eq!(csv.lines().count(), 1 + 8 * 31);

    // The SINDy autoencoder from the trained model, constrained by its generator; it never writes
    // into the model folder it starts from, nor over a model without --force.
    let sae = |out: &str, extra: &[&str]| {
        let mut args = vec!["sindy-ae", "--model", "job/train", "--out", out];
        args.extend(extra);
        laligan(p, &args)
    };
    let r = sae(
        "job/train/sindy-ae",
        &[
            "--set",
            "sindy_ae.epochs=1",
            "--set",
            "sindy_ae.constraint=\"equivariant\"",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(job.join("train/sindy-ae/equations/equations.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(e["regressor"], "sindy-ae");
    assert_eq!(e["state_names"], serde_json::json!(["z0", "z1"]));
    assert!(e["constraint"]["generators"].is_array(), "{e}");
    refused(&sae("job/train", &[]), &["is the model folder"]);
    refused(
        &sae("job/train/sindy-ae", &[]),
        &["already holds a model", "--force"],
    );
    refused(
        &sae("x", &["--set", "sindy_ae.constraint=\"both\""]),
        &[
            "sindy_ae.constraint",
            "unknown variant `both`",
            "`equivariant`",
        ],
    );

    // Without equations the latent SINDy methods are skipped, naming the command that makes them.
    let r = laligan(
        p,
        &[
            "forecast",
            "--model",
            "job/train",
            "--horizon",
            "10",
            "--out",
            "fc",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("fc/forecast.json")).unwrap())
            .unwrap();
    assert!(f["skipped"]["laligan-sindy"]
        .as_str()
        .unwrap()
        .contains("laligan discover --model"));
    // `<model>/sindy-ae` is found by default.
    for m in ["group-flow", "sindy-ae"] {
        let c = f["methods"][m]["curve"].as_array();
        assert_eq!(c.map(Vec::len), Some(11), "{m}: {}", f["methods"]);
    }
    refused(
        &laligan(p, &["forecast", "--out", "fc3"]),
        &["--model", "--data"],
    );
}
