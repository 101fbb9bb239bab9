//! The README's main job: `tsunagu demo` runs the supply-chain story end to end and exits 0.

use std::process::Command;

/// The demo's companies, each with its own connector.
const COMPANIES: [&str; 7] = [
    "lithium-refiner",
    "nickel-refiner",
    "cathode-maker",
    "anode-maker",
    "cell-maker",
    "pack-maker",
    "recycler",
];

#[test]
fn the_demo_runs_the_story_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    let output = Command::new(env!("CARGO_BIN_EXE_tsunagu"))
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .expect("tsunagu demo starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        "4 credentials",
        "recycler sees the footprint 0 times",
        "REQUESTED -> AGREED -> VERIFIED -> FINALIZED",
        "STARTED; data address received",
        "\"pcfExcludingBiogenic\": \"14.7\"",
        "transfer COMPLETED",
        "contract policy: template carbon-footprint-exchange@1.0.0#sha256:",
        "signed by both (JWS with their DID keys)",
        "the bytes came with the cathode maker's signature",
        "tsunagu verify: cathode-maker ok",
        "checked against checkpoints cosigned by lithium-refiner, nickel-refiner, cell-maker",
        "tsunagu verify: cell-maker ok",
        "passport page  https://localhost:",
        "QR code        https://localhost:",
        "anyone sees the public view",
        "5 trade requests over DSP",
        "performance class",
        "kg CO2e per kWh delivered over its life",
        "pack-maker       learned cell-maker's result",
        "lithium-refiner  learned no one's results",
        "the cell maker offers its passport data to the pack maker only, under due-diligence-disclosure@",
        "the recycler fetched the legitimate-interest view over DSP",
        "demo finished",
    ] {
        assert!(
            stdout.contains(expected),
            "the demo did not print {expected:?}:\n{stdout}"
        );
    }
    // Each company kept its own database.
    for company in COMPANIES {
        assert!(
            dir.path().join(format!("{company}.sqlite")).exists(),
            "{company} has no database of its own"
        );
        // Its keys were created on first start, readable by the owner only.
        let keys = dir.path().join(format!("{company}-keys.json"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "{} is readable by others",
                keys.display()
            );
        }
    }
    assert!(
        dir.path().join("operator.sqlite").exists(),
        "the operator has its own store"
    );
    // The manifest describes the network for people and other tools.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert!(
        manifest["operator"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://localhost:")
    );
    let batteries = manifest["batteries"].as_array().unwrap();
    assert_eq!(batteries.len(), 1, "{manifest}");
    for field in ["id", "battery", "issuer", "passport_url", "qr_url"] {
        assert!(
            batteries[0][field].as_str().is_some_and(|v| !v.is_empty()),
            "the battery lacks {field}: {manifest}"
        );
    }
    assert!(
        batteries[0]["qr_url"]
            .as_str()
            .unwrap()
            .starts_with(batteries[0]["passport_url"].as_str().unwrap())
    );
    let participants = manifest["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 7);
    for participant in participants {
        for field in [
            "name",
            "did",
            "dsp_url",
            "management_url",
            "management_api_key",
            "web_url",
        ] {
            assert!(
                participant[field].is_string(),
                "{field} missing: {participant}"
            );
        }
        // Every company runs the PCF app; PACT tools get its URL and demo credentials.
        assert!(
            participant["pact_url"]
                .as_str()
                .unwrap()
                .starts_with("https://localhost:"),
            "{participant}"
        );
        assert!(
            participant["pact_client_id"]
                .as_str()
                .unwrap()
                .ends_with("-pact-demo")
        );
        assert!(participant["pact_client_secret"].as_str().unwrap().len() >= 16);
        // And Ouranos applications what they need to act for the company.
        let ouranos = &participant["ouranos"];
        for field in [
            "base_url",
            "api_key",
            "token",
            "operator_id",
            "open_operator_id",
        ] {
            assert!(
                ouranos[field].as_str().is_some_and(|v| !v.is_empty()),
                "ouranos.{field} missing: {participant}"
            );
        }
        assert_eq!(ouranos["open_operator_id"], participant["corporate_number"]);
        assert!(participant["roles"].is_array());
        assert!(participant["did"].as_str().unwrap().starts_with("did:web:"));
    }
    // The pack maker's declaration is written, with its per-kWh figure and class.
    let declaration: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cfp-declaration.json")).unwrap(),
    )
    .unwrap();
    let per_kwh: f64 = declaration["total_kg_co2e_per_kwh"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(per_kwh > 0.05 && per_kwh < 1.0, "{declaration}");
    assert!(declaration["performance_class"].is_string());
    // No private key reaches the output.
    for company in COMPANIES {
        let text =
            std::fs::read_to_string(dir.path().join(format!("{company}-keys.json"))).unwrap();
        let file: serde_json::Value = serde_json::from_str(&text).unwrap();
        let secret = file["active"]["privateKey"].as_str().unwrap();
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}
