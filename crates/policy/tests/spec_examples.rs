//! Every policy in the official DSP 2025-1 examples must parse, and its canonical JSON
//! must be the example itself: these are the bytes other connectors send us.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tsunagu_policy::{Policy, PolicyKind};

/// Fields of a DSP policy that the model does not carry. `timestamp` is DSP's (not ODRL's)
/// signing time of an agreement; the policy API has no field for it, so it cannot survive
/// `to_json`. Everything else must round-trip exactly.
const NOT_MODELLED: [&str; 1] = ["timestamp"];

/// The spec bundle lives beside the repository (`../shared/spec`), not inside it, so a
/// fresh clone does not have it; `TSUNAGU_SPEC_DIR` points elsewhere when needed.
fn spec_dir() -> PathBuf {
    match std::env::var_os("TSUNAGU_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec"),
    }
}

/// Collects, at any depth, the values of `offer`, `agreement` and `hasPolicy` (whose value
/// is a list of offers).
fn policies_in<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                match (key.as_str(), inner) {
                    ("offer" | "agreement", _) => out.push(inner),
                    ("hasPolicy", Value::Array(items)) => out.extend(items),
                    ("hasPolicy", single) => out.push(single),
                    _ => policies_in(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| policies_in(item, out)),
        _ => {}
    }
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "the skip notice is the agreed signal that the spec bundle was absent"
)]
fn every_policy_in_the_dsp_examples_round_trips() {
    let root = spec_dir().join("dsp-2025-1");
    let folders = [
        root.join("negotiation/example"),
        root.join("catalog/example"),
    ];
    if !folders.iter().all(|folder| folder.is_dir()) {
        println!("skipped: spec bundle not found");
        return;
    }
    let mut checked = 0;
    let mut kinds = Vec::new();
    for folder in &folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let document: Value = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            let mut found = Vec::new();
            policies_in(&document, &mut found);
            for original in found {
                let policy = Policy::from_json(original)
                    .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
                let mut expected = original.clone();
                if let Some(object) = expected.as_object_mut() {
                    for key in NOT_MODELLED {
                        object.remove(key);
                    }
                }
                assert_eq!(policy.to_json(), expected, "{}", file.display());
                assert_eq!(Policy::from_json(&policy.to_json()).unwrap(), policy);
                kinds.push(policy.kind);
                checked += 1;
            }
        }
    }
    // Six negotiation messages carry an offer or agreement and two catalog documents a
    // hasPolicy; finding fewer would mean the walk above missed some.
    assert_eq!(checked, 8, "policies found in the examples");
    assert!(kinds.contains(&PolicyKind::Offer) && kinds.contains(&PolicyKind::Agreement));
}
