//! `tsunagu demo`: a battery supply chain on loopback. The scheme operator and seven
//! companies (two refiners, a cathode-material and an anode-material maker, a cell maker, a
//! pack maker and a recycler), each with its own connector, keys and SQLite file. The
//! companies apply to the operator, are approved and receive their credentials; from then on
//! every DSP call between them is authenticated with DCP (self-issued tokens, verifiable
//! presentations).
//!
//! The story: the cathode maker publishes the carbon footprint of a batch for cell makers
//! only; the cell maker finds it, negotiates a contract and pulls the data, while the
//! recycler, whose credentials say it is not a cell maker, does not even see it. Then the
//! whole chain computes its carbon footprints, each company from its own data and its direct
//! suppliers' results, up to the pack maker's declaration in kg CO2e per kWh with its
//! performance class; the pack's passport is issued, and every log is verified.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};
use tsunagu_core::{AssetSelector, NegotiationState, TransferMode, TransferState};
use tsunagu_engine::{
    NewAssetRequest, NewContractDefinition, NewPolicyDefinition, StartNegotiation, StartTransfer,
};

use crate::network::{Company, Network};

const WAIT: Duration = Duration::from_secs(20);
/// The asset of the cathode maker's batch footprint.
const FOOTPRINT_ASSET_ID: &str = "cam-nmc811-batch-2026-11-pcf";

fn step(number: u32, text: &str) {
    println!("\n[{number}] {text}");
}

fn detail(text: impl AsRef<str>) {
    println!("    {}", text.as_ref());
}

/// The footprint the cathode maker computed from its confidential data; only the result
/// travels.
fn cathode_footprint() -> Value {
    json!({
        "productId": "urn:tsunagu:cathode-maker:cam-nmc811:batch-2026-11",
        "productName": "Cathode active material NMC811, batch 2026-11",
        "declaredUnit": "kilogram",
        "pcfExcludingBiogenic": "14.7",
        "unit": "kg CO2e per kg",
        "stages": {
            "rawMaterialAcquisitionAndPreProcessing": "11.2",
            "mainProduction": "3.1",
            "distribution": "0.4"
        },
        "primaryDataShare": "62",
        "referencePeriod": {"start": "2026-01-01", "end": "2026-10-31"}
    })
}

/// What `--serve` adds: keep the network up and describe it in a manifest file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub serve: bool,
    pub manifest: Option<std::path::PathBuf>,
}

pub async fn run(dir: Option<&Path>, serve: ServeOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    let temp;
    let dir = match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path()
        }
    };
    println!(
        "tsunagu demo: a battery supply chain on loopback (data in {})",
        dir.display()
    );

    step(
        1,
        "The scheme operator starts; three companies start their connectors, apply, are approved and receive credentials",
    );
    let network = Network::start_with(
        dir,
        vec![
            Company::new(
                "lithium-refiner",
                "Demo Lithium Refining K.K.",
                100_000_000_004,
                &["materialMaker"],
            ),
            Company::new(
                "nickel-refiner",
                "Demo Nickel Refining K.K.",
                100_000_000_005,
                &["materialMaker"],
            ),
            Company::new(
                "cathode-maker",
                "Demo Cathode Materials K.K.",
                100_000_000_001,
                &["materialMaker"],
            ),
            Company::new(
                "anode-maker",
                "Demo Anode Materials K.K.",
                100_000_000_006,
                &["materialMaker"],
            ),
            Company::new(
                "cell-maker",
                "Demo Cell Manufacturing K.K.",
                100_000_000_002,
                &["cellMaker"],
            ),
            Company::new(
                "pack-maker",
                "Demo Battery Packs K.K.",
                100_000_000_007,
                &["packMaker"],
            ),
            Company::new(
                "recycler",
                "Demo Battery Recycling K.K.",
                100_000_000_003,
                &["recycler"],
            ),
        ],
        crate::network::NetworkOptions {
            pcf_app: true,
            passport_app: true,
            ..Default::default()
        },
    )
    .await?;
    detail(format!(
        "operator         {:<40} {}",
        network.operator.did, network.operator.url
    ));
    for member in &network.members {
        detail(format!(
            "{:<16} {:<40} roles {:?}, {} credentials",
            member.company.name,
            member.node.participant_id(),
            member.company.roles,
            member
                .node
                .identity
                .as_ref()
                .map_or(0, |identity| identity.credentials().len())
        ));
    }
    let cathode = &network.member("cathode-maker").node;
    let cell = &network.member("cell-maker").node;
    let recycler = &network.member("recycler").node;

    step(
        2,
        "The cathode maker publishes its batch footprint for cell makers only",
    );
    let footprint = serde_json::to_vec_pretty(&cathode_footprint())?;
    let m = &cathode.connector;
    m.create_asset(NewAssetRequest {
        id: Some(FOOTPRINT_ASSET_ID.into()),
        properties: json!({
            "name": "PCF of cathode active material NMC811, batch 2026-11",
            "contenttype": "application/json",
            "dct:type": "PcfExchange"
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
        http_source: None,
        media_type: Some("application/json".into()),
    })
    .await?;
    let body: tsunagu_engine::ByteStream = Box::pin(futures::stream::once(async move {
        Ok(bytes::Bytes::from(footprint))
    }));
    let asset = m
        .upload_asset(
            "cam-nmc811-batch-2026-11-pcf",
            Some("application/json".into()),
            body,
        )
        .await?;
    detail(format!("asset {} stored in its own connector", asset.id));
    m.create_policy_definition(NewPolicyDefinition {
        id: Some("cell-makers-only".into()),
        policy: json!({"@type": "Set", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "role", "operator": "isAnyOf", "rightOperand": ["cellMaker"]}
        ]}]}),
    })
    .await?;
    // The contract policy comes from the carbon-footprint-exchange template, filled in for the
    // cell maker: the policy and the contract text are bound by the terms reference.
    let parameters: std::collections::BTreeMap<String, String> = [
        ("provider_name", "Demo Cathode Materials K.K."),
        ("provider_did", cathode.participant_id()),
        ("recipient_name", "Demo Cell Manufacturing K.K."),
        ("recipient_did", cell.participant_id()),
        ("effective_date", "2026-11-01"),
        (
            "product_scope",
            "cathode active material NMC811, batch 2026-11",
        ),
        ("purpose", "cfp-calculation"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let (_, contract) = m
        .instantiate_contract(
            "carbon-footprint-exchange",
            None,
            &parameters,
            Some("cfp-use".into()),
        )
        .await?;
    m.create_contract_definition(NewContractDefinition {
        id: Some("cfp-for-cell-makers".into()),
        access_policy_id: "cell-makers-only".into(),
        contract_policy_id: "cfp-use".into(),
        assets: AssetSelector::Ids(vec![asset.id.clone()]),
    })
    .await?;
    detail(
        "access policy: role isAnyOf [cellMaker] (the role comes from the operator's credential)",
    );
    detail(format!(
        "contract policy: template {} (counter-party, membership, purpose cfp-calculation, term, retention, no onward transfer)",
        contract.terms_reference
    ));
    detail(format!(
        "contract text ({} articles, English and Japanese) kept by the cathode maker: {}/v3/contractterms/{}?lang=ja",
        contract.terms.markdown_en.matches("\n## ").count(),
        cathode.management_url(),
        contract.terms.sha256_hex()
    ));

    step(
        3,
        "The recycler asks for the catalog: it is not a cell maker, so it sees nothing",
    );
    let request =
        json!({"@context": [tsunagu_wire::DSP_CONTEXT], "@type": "CatalogRequestMessage"});
    let (catalog, _) = recycler
        .connector
        .request_catalog(
            cathode.participant_id(),
            &cathode.dsp_url(),
            request.clone(),
        )
        .await?;
    // Other datasets (such as each company's PCF trade inbox) may be visible; the batch
    // footprint must not be.
    let is_footprint = |dataset: &&Value| dataset["@id"] == FOOTPRINT_ASSET_ID;
    let datasets = catalog["dataset"].as_array().cloned().unwrap_or_default();
    let seen = datasets.iter().filter(is_footprint).count();
    detail(format!(
        "recycler sees the footprint {seen} times (and {} other dataset(s), such as the PCF trade inbox)",
        datasets.len() - seen
    ));
    if seen != 0 {
        bail!("the access policy failed: the recycler saw the footprint");
    }

    step(4, "The cell maker asks for the catalog and finds the offer");
    let (catalog, _) = cell
        .connector
        .request_catalog(cathode.participant_id(), &cathode.dsp_url(), request)
        .await?;
    let dataset = catalog["dataset"]
        .as_array()
        .and_then(|d| d.iter().find(is_footprint))
        .context("the cell maker did not find the footprint dataset")?;
    let offer = dataset["hasPolicy"][0].clone();
    let provider_id = catalog["participantId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    detail(format!(
        "dataset {} from {provider_id}",
        dataset["@id"].as_str().unwrap_or_default()
    ));
    detail(format!(
        "offer {}",
        offer["@id"].as_str().unwrap_or_default()
    ));

    step(
        5,
        "The cell maker negotiates a contract (DSP contract negotiation)",
    );
    let t = Instant::now();
    let negotiation = cell
        .connector
        .start_negotiation(StartNegotiation {
            counter_party_address: cathode.dsp_url(),
            counter_party_id: provider_id,
            offer,
        })
        .await?;
    let negotiation = cell
        .connector
        .wait_for_negotiation(&negotiation.id, NegotiationState::is_terminal, WAIT)
        .await?;
    if negotiation.state != NegotiationState::Finalized {
        bail!(
            "the negotiation ended {}: {:?}",
            negotiation.state,
            negotiation.error
        );
    }
    let agreement = negotiation
        .agreement
        .clone()
        .context("a finalized negotiation has an agreement")?;
    detail(format!(
        "REQUESTED -> AGREED -> VERIFIED -> FINALIZED in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    ));
    detail(format!(
        "agreement {} between {} and {}",
        agreement.id, agreement.provider_id, agreement.consumer_id
    ));
    let (Some(_), Some(_)) = (&agreement.provider_signature, &agreement.consumer_signature) else {
        bail!("the agreement is not signed by both parties");
    };
    let held = cell
        .connector
        .contract_text(&contract.terms.sha256_hex())
        .await
        .context("the cell maker does not hold the contract text it signed for")?;
    detail(format!(
        "signed by both (JWS with their DID keys); the cell maker fetched and checked the contract text {} before signing",
        held.terms_reference
    ));

    step(
        6,
        "The cell maker pulls the footprint under the agreement (DSP transfer process)",
    );
    let transfer = cell
        .connector
        .start_transfer(StartTransfer {
            counter_party_address: cathode.dsp_url(),
            agreement_id: agreement.id.clone(),
            mode: TransferMode::Pull,
        })
        .await?;
    let transfer = cell
        .connector
        .wait_for_transfer(&transfer.id, |s| s != TransferState::Requested, WAIT)
        .await?;
    if transfer.state != TransferState::Started {
        bail!(
            "the transfer ended {}: {:?}",
            transfer.state,
            transfer.error
        );
    }
    detail(format!(
        "transfer {} STARTED; data address received",
        transfer.id
    ));
    let mut data = cell.connector.pull_data(&transfer.id).await?;
    let mut received = Vec::new();
    while let Some(piece) = data.body.next().await {
        received.extend_from_slice(&piece?);
    }
    let value: Value =
        serde_json::from_slice(&received).context("the data is the footprint JSON")?;
    detail(format!(
        "received {} bytes ({}):",
        received.len(),
        data.media_type.unwrap_or_default()
    ));
    for line in serde_json::to_string_pretty(&value)?.lines() {
        detail(format!("  {line}"));
    }
    if data.signature.is_some() {
        detail(
            "the bytes came with the cathode maker's signature over their SHA-256 (checked against its DID, logged)",
        );
    }
    let completed = cell
        .connector
        .act_on_transfer(&transfer.id, tsunagu_core::TransferAction::SendCompletion)
        .await?;
    detail(format!("transfer {}", completed.state));

    step(
        7,
        "Carbon footprints across the chain: each company computes its own from its own data and its direct suppliers' results (trade requests over DSP)",
    );
    let story = chain_story(&network, dir).await?;

    step(
        8,
        "The pack maker issues the pack's battery passport: the footprint from its PCF app, the cells' composition, recycled content and due-diligence report from the cell maker over DSP",
    );
    let pack = &network.member("pack-maker").node;
    let published = crate::passport_dsp::publish_supplier_data(
        &cell.connector,
        &tsunagu_passport::demo_supplier_contribution(
            tsunagu_passport::SupplierIdentity {
                did: cell.participant_id().to_owned(),
                bpnl: "BPNL00000DEMOCEL".into(),
                name: "Demo Cell Manufacturing K.K.".into(),
            },
            "https://demo-cells.tsunagu.example/docs",
        ),
        &crate::passport_dsp::SupplierDataRecipient {
            did: pack.participant_id().to_owned(),
            legal_name: "Demo Battery Packs K.K.".into(),
            provider_legal_name: "Demo Cell Manufacturing K.K.".into(),
            effective_date: "2026-11-01".into(),
        },
    )
    .await?;
    detail(format!(
        "the cell maker offers its passport data to the pack maker only, under {}",
        published.terms_reference
    ));
    let battery = tsunagu_passport::BatteryIdentifier::parse(tsunagu_passport::DEMO_BATTERY_ID)?;
    let assembled = crate::passport_dsp::assemble_pack_passport(
        pack,
        &crate::passport_dsp::SupplierRef {
            did: cell.participant_id().to_owned(),
            dsp_url: cell.dsp_url(),
            manufacturer_part_id: Some("CELL-NMC811-P60".into()),
        },
        story.pack_part,
        crate::passport_dsp::PackFacts {
            battery: battery.clone(),
            content: tsunagu_passport::demo_battery_pass_json(
                "urn:uuid:00000000-0000-4000-8000-000000000000",
                tsunagu_passport::DEMO_BATTERY_ID,
                "2026-11-30",
            ),
            service_life: story.service_life,
            classes: demo_performance_classes()?,
            plant_bpna: tsunagu_passport::DEMO_PLANT_BPNA.into(),
            declaration_url: "https://demo.tsunagu.example/declarations/tsp-75".into(),
        },
    )
    .await?;
    detail(format!(
        "footprint {} kg CO2e per lifetime kWh, class {} (from the pack maker's PCF app); composition and recycled shares from {} under agreement {}",
        assembled.footprint.total_kg_co2e_per_kwh().round_dp(3),
        assembled
            .footprint
            .performance_class
            .as_deref()
            .unwrap_or("none"),
        assembled.supplier.supplier_did,
        assembled.supplier.agreement_id
    ));
    let app = pack
        .passport
        .as_ref()
        .context("the pack maker runs the passport app")?;
    let passport =
        tsunagu_passport::record_demo_readings(&app.service, assembled.passport.id).await?;
    let passport_url = app.service.public_url(passport.id);
    let qr_url = app.service.qr_url(passport.id, "svg");
    detail(format!(
        "battery {}: passport {}",
        passport.battery, passport.id
    ));
    detail(format!("passport page  {passport_url}"));
    detail(format!("QR code        {qr_url}"));
    let client = crate::node::client_for(&network.tls.cert_file.display().to_string())?;
    let public: Value = client
        .get(&passport_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    detail(format!(
        "anyone sees the public view ({} sections); state of health, dismantling and authority data need a credential that says who may see them",
        public.as_object().map_or(0, |object| object.len())
    ));
    // A recycler's connector fetches the legitimate-interest view over DSP: catalog,
    // negotiation and transfer the first time, the transfer alone under the agreement after.
    crate::passport_dsp::publish_passport(pack, &battery).await?;
    let group = tsunagu_passport::AccessGroup::LegitimateInterest;
    let t = Instant::now();
    let remote = crate::passport_dsp::fetch_remote_passport(
        recycler,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        group,
    )
    .await?;
    let cold = t.elapsed();
    let t = Instant::now();
    crate::passport_dsp::fetch_remote_passport(
        recycler,
        pack.participant_id(),
        &pack.dsp_url(),
        &battery,
        group,
    )
    .await?;
    let warm = t.elapsed();
    detail(format!(
        "the recycler fetched the legitimate-interest view over DSP, signed by {}, in {:.1} ms (catalog, negotiation, transfer), then {:.1} ms under agreement {}",
        remote.operator_did,
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3,
        remote.agreement_id
    ));
    let batteries = json!([{
        "id": passport.id.to_string(),
        "battery": passport.battery.to_string(),
        "issuer": "pack-maker",
        "passport_url": passport_url,
        "qr_url": qr_url,
    }]);

    step(
        9,
        "Provable history: both logs hold the exchange; each partner cosigned the other's checkpoint",
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let cathode_cosigned = m
            .cosigned_checkpoints()
            .await?
            .into_iter()
            .any(|held| held.partner == cell.participant_id());
        let cell_cosigned = cell
            .connector
            .cosigned_checkpoints()
            .await?
            .into_iter()
            .any(|held| held.partner == cathode.participant_id());
        if cathode_cosigned && cell_cosigned {
            break;
        }
        if Instant::now() > deadline {
            bail!("the partners did not cosign each other's checkpoints");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (name, node) in [("cathode maker", cathode), ("cell maker", cell)] {
        let history = node
            .connector
            .history(&tsunagu_engine::HistoryQuery {
                agreement: Some(agreement.id.clone()),
                ..Default::default()
            })
            .await?;
        detail(format!(
            "{name}: {} log entries about the agreement, each with an inclusion proof in a log of {}",
            history.entries.len(),
            history.size
        ));
    }
    let mut manifest = network.manifest();
    manifest["batteries"] = batteries;
    let manifest_path = serve
        .manifest
        .clone()
        .unwrap_or_else(|| dir.join("manifest.json"));
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("cannot write the manifest {}", manifest_path.display()))?;
    let verdicts = crate::verify::run_manifest(&crate::verify::VerifyOptions {
        manifest: Some(manifest_path.clone()),
        ..Default::default()
    })
    .await?;
    for verdict in &verdicts {
        match &verdict.outcome {
            Ok(ok) => detail(format!(
                "tsunagu verify: {} ok, {} entries, checked against checkpoints cosigned by {}",
                verdict.name,
                ok.size,
                if verdict.witnesses.is_empty() {
                    "nobody".to_owned()
                } else {
                    verdict.witnesses.join(", ")
                }
            )),
            Err(error) => bail!("tsunagu verify failed for {}: {error}", verdict.name),
        }
    }

    step(10, "Who learned what");
    detail(
        "cathode maker: kept its activity data; shared its batch footprint only with the cell maker, under contract",
    );
    detail(
        "recycler: learned nothing of the batch footprint, not even that the dataset exists; got the pack passport's legitimate-interest view, signed, and nothing above its group",
    );
    detail(
        "pack maker: got the cells' composition, recycled content and due-diligence report under contract, and put them in its passport with their provenance",
    );
    for company in &story.outcome.companies {
        let learned = if company.learned.is_empty() {
            "no one's results (it buys nothing in the chain)".to_owned()
        } else {
            company
                .learned
                .iter()
                .map(|(supplier, disclosed)| {
                    format!(
                        "{supplier}'s result ({} kg CO2e per {}, {:?})",
                        disclosed.total_kg_co2e.round_dp(2),
                        disclosed.declared_unit,
                        disclosed.disclosure
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        detail(format!("{:<16} learned {learned}", company.company));
    }
    detail(
        "no company saw another's activity data or bill of materials; suppliers never saw the amounts their customers buy",
    );
    println!(
        "\ndemo finished in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &serve.manifest {
        println!("manifest written to {}", path.display());
    }
    if serve.serve {
        println!("battery passport: {passport_url}");
        println!("its QR code:      {qr_url}");
        println!("the network keeps running; press Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
    }
    Ok(())
}

/// What the chain step leaves for the rest of the demo.
struct ChainStory {
    outcome: crate::pcf_chain::ChainOutcome,
    /// The pack in the pack maker's PCF app, and the service life its footprint is declared
    /// over.
    pack_part: tsunagu_pcf::TraceId,
    service_life: tsunagu_pcf::ServiceLife,
}

/// Illustrative performance classes in kg CO2e per kWh delivered over the service life: the
/// thresholds are set by delegated acts not yet adopted, so they are configuration.
fn demo_performance_classes() -> anyhow::Result<tsunagu_pcf::PerformanceClasses> {
    let classes = [
        ("A", "0.1"),
        ("B", "0.2"),
        ("C", "0.3"),
        ("D", "0.5"),
        ("E", "1"),
    ]
    .iter()
    .map(|(label, bound)| {
        Ok(tsunagu_pcf::ClassBound {
            label: (*label).to_owned(),
            max_kg_co2e_per_kwh: bound.parse()?,
        })
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(tsunagu_pcf::PerformanceClasses::new(classes)?)
}

async fn chain_story(network: &Network, dir: &Path) -> anyhow::Result<ChainStory> {
    use tsunagu_pcf::Decimal;
    let products = crate::pcf_chain::battery_chain()?;
    let outcome = crate::pcf_chain::run(network, &products, WAIT).await?;
    outcome
        .check_confidentiality(&products)
        .context("who learned what")?;
    detail(format!(
        "{} trade requests over DSP; every result reached its customer in {:.0} ms",
        outcome.requests,
        outcome.elapsed.as_secs_f64() * 1e3
    ));
    for company in &outcome.companies {
        let stages = &company.footprint.stages;
        detail(format!(
            "{:<16} {:>9} kg CO2e per {:<5} (raw materials {}, production {}, distribution {}, end of life {})",
            company.company,
            company.footprint.total_kg_co2e().round_dp(2),
            company.footprint.declared_unit,
            stages
                .raw_material_acquisition_and_pre_processing
                .total()
                .round_dp(2),
            stages.main_production.total().round_dp(2),
            stages.distribution.total().round_dp(2),
            stages.end_of_life_and_recycling.total().round_dp(2),
        ));
    }
    let pack = outcome
        .company("pack-maker")
        .context("the pack maker is in the chain")?;
    let capacity_kwh = Decimal::from(75);
    let life = tsunagu_pcf::ServiceLife {
        category: tsunagu_pcf::BatteryCategory::M1,
        usable_energy_kwh: Decimal::from(75),
        service_years: Decimal::from(8),
    };
    let service = network
        .member("pack-maker")
        .node
        .pcf
        .as_ref()
        .map(|(service, _)| service)
        .context("the pack maker runs the PCF app")?;
    // The pack maker's app declares from the footprint it holds.
    let declaration = service
        .battery_declaration(
            pack.part,
            life,
            &demo_performance_classes()?,
            "https://demo.tsunagu.example/studies/tsp-75",
        )
        .await?;
    detail(format!(
        "pack: {} kg CO2e, {} kg CO2e per kWh of capacity ({capacity_kwh} kWh)",
        pack.footprint.total_kg_co2e().round_dp(1),
        (pack.footprint.total_kg_co2e() / capacity_kwh).round_dp(1)
    ));
    detail(format!(
        "battery carbon footprint: {} kg CO2e per kWh delivered over its life ({} kWh usable x {} cycles/year x {} years = {} kWh), performance class {}",
        declaration.total_kg_co2e_per_kwh,
        life.usable_energy_kwh,
        life.category.full_equivalent_cycles_per_year(),
        life.service_years,
        declaration.total_energy_delivered_kwh,
        declaration.performance_class.as_deref().unwrap_or("none")
    ));
    let json_path = dir.join("cfp-declaration.json");
    let html_path = dir.join("cfp-declaration.html");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&declaration.to_json())?,
    )?;
    std::fs::write(&html_path, declaration.to_html())?;
    detail(format!(
        "declaration written to {} and {}",
        json_path.display(),
        html_path.display()
    ));
    let pack_part = pack.part;
    Ok(ChainStory {
        outcome,
        pack_part,
        service_life: life,
    })
}
